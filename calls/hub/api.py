"""The conference hub's API: an agent's current call and what she does to it, and a
supervisor's listening in. The softphone page and mobile apps use the same endpoints.

Every action answers the conference's state as it is after it: 409 with a `detail` when the
call has moved on (ended, the party left), 403 when the conference is not the agent's, 503
when Twilio cannot be reached (nothing changed).
"""

from collections.abc import Callable

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from agents.models import Agent
from agents.selectors import NotAnActiveAgent, active_agent_for_user
from agents.user_time_zone import UserTimeZoneApiView
from calls.access import call_families_visible_to, may_monitor_calls
from calls.constants import PartyRole
from calls.hub import actions
from calls.hub.actions import Actor, HubConflict, HubUnavailable, MonitorMode
from calls.hub.selectors import conference_of_agent, hub_state
from calls.hub.twiml import hub_urls_for
from calls.models import Conference
from calls.participant_labels import agent_label

NOT_YOURS = "You are not in this call."


class DestinationSerializer(serializers.Serializer[object]):
    to = serializers.CharField(
        max_length=64, help_text="A colleague's identity, or a phone number as people type it."
    )


class PartySerializer(serializers.Serializer[object]):
    call_sid = serializers.CharField()


class MonitorSerializer(serializers.Serializer[object]):
    mode = serializers.ChoiceField(choices=MonitorMode.ALL)


class PartyOutput(serializers.Serializer[object]):
    call_sid = serializers.CharField()
    # DRF's metaclass takes `label` before Field.label counts.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="customer, agent:<identity>, supervisor:<identity>, party:<n>."
    )
    role = serializers.ChoiceField(choices=PartyRole.choices)
    identity = serializers.CharField()
    state = serializers.ChoiceField(choices=["ringing", "talking", "on-hold"])
    muted = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    consulted = serializers.BooleanField(help_text="The party a warm transfer goes to.")
    me = serializers.BooleanField(help_text="The asking agent herself.")
    mode = serializers.ChoiceField(
        choices=MonitorMode.ALL, required=False, help_text="Supervisors only."
    )


class HubStateOutput(serializers.Serializer[object]):
    conference = serializers.CharField(allow_null=True, help_text="null: in no call.")
    family = serializers.CharField(required=False, help_text="The family's parent CallSid.")
    status = serializers.CharField(required=False)
    started_at = serializers.DateTimeField(required=False)
    parties = PartyOutput(many=True)
    consulting = serializers.BooleanField(required=False)
    supervised = serializers.BooleanField(
        required=False, help_text="A supervisor is listening, whispering or in the call."
    )


class CancelledOutput(serializers.Serializer[object]):
    sid = serializers.CharField()
    canceled = serializers.BooleanField()


def _conferences() -> "QuerySet[Conference]":
    return Conference.objects.select_related("family")


class HubApiView(UserTimeZoneApiView):
    serializer_class = HubStateOutput

    def agent(self, request: Request) -> Agent:
        try:
            return active_agent_for_user(user=request.user, purpose="handle calls")
        except NotAnActiveAgent as error:
            raise PermissionDenied(str(error)) from error

    def actor(self, request: Request) -> Actor:
        agent = self.agent(request)
        return Actor(user_id=agent.user_id, identity=agent.identity)

    def answer(self, conference: Conference, identity: str) -> Response:
        conference.refresh_from_db()
        return Response(hub_state(conference, identity=identity))

    def acting(self, request: Request, conference: Conference, act: Callable[[], None]) -> Response:
        identity = self.agent(request).identity
        try:
            act()
        except HubConflict as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except HubUnavailable:
            return Response(
                {"detail": "Twilio cannot be reached; nothing changed. Try again."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return self.answer(conference, identity)


class CurrentCallApi(HubApiView):
    """The call the agent is in now, with each party's state; `conference` is null when
    she is in none."""

    def get(self, request: Request) -> Response:
        agent = self.agent(request)
        conference = conference_of_agent(agent.identity)
        if conference is None:
            return Response({"conference": None, "parties": []})
        return Response(hub_state(conference, identity=agent.identity))


class AgentActionApi(HubApiView):
    """An action on a conference the agent is in."""

    def conference(self, request: Request, name: str) -> Conference:
        conference = get_object_or_404(
            Conference.objects.select_related("family"), friendly_name=name
        )
        label = agent_label(self.agent(request).identity)
        if not conference.participants.filter(label=label).exists():
            raise PermissionDenied(NOT_YOURS)
        return conference


class HoldApi(AgentActionApi):
    """Put the other party on hold (music); repeating it changes nothing."""

    @extend_schema(request=None)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        actor = self.actor(request)
        urls = hub_urls_for(request)
        return self.acting(
            request, conference, lambda: actions.hold(conference=conference, actor=actor, urls=urls)
        )


class ResumeApi(AgentActionApi):
    @extend_schema(request=None)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        actor = self.actor(request)
        return self.acting(
            request, conference, lambda: actions.resume(conference=conference, actor=actor)
        )


class DestinationActionApi(AgentActionApi):
    """An action that calls someone in: a colleague (only one free to take a call) or a
    number."""

    perform: Callable[..., None]

    @extend_schema(request=DestinationSerializer)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        serializer = DestinationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor = self.actor(request)
        urls = hub_urls_for(request)
        to = serializer.validated_data["to"]
        act = type(self).perform
        return self.acting(
            request,
            conference,
            lambda: act(conference=conference, actor=actor, to=to, urls=urls),
        )


class TransferApi(DestinationActionApi):
    """Blind transfer: the customer waits on hold for the new party; the agent leaves."""

    perform = actions.transfer


class ConsultApi(DestinationActionApi):
    """Warm transfer: hold the customer and call a colleague or number to talk first."""

    perform = actions.consult


class AddPartyApi(DestinationActionApi):
    """A three-way call."""

    perform = actions.add_party


class CompleteTransferApi(AgentActionApi):
    @extend_schema(request=None)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        actor = self.actor(request)
        return self.acting(
            request,
            conference,
            lambda: actions.complete_transfer(conference=conference, actor=actor),
        )


class CancelConsultApi(AgentActionApi):
    @extend_schema(request=None)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        actor = self.actor(request)
        return self.acting(
            request, conference, lambda: actions.cancel_consult(conference=conference, actor=actor)
        )


class RemovePartyApi(AgentActionApi):
    @extend_schema(request=PartySerializer)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        serializer = PartySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor = self.actor(request)
        call_sid = serializer.validated_data["call_sid"]
        return self.acting(
            request,
            conference,
            lambda: actions.remove_party(conference=conference, actor=actor, call_sid=call_sid),
        )


class MonitorApi(HubApiView):
    """A supervisor listens (muted), whispers to the agent, or barges in; the first request
    rings her softphone (answer it on /phone/)."""

    def conference(self, request: Request, name: str) -> Conference:
        if not may_monitor_calls(request.user):
            raise PermissionDenied("Only supervisors may listen in to calls.")
        return get_object_or_404(_conferences(), friendly_name=name)

    @extend_schema(request=MonitorSerializer)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        serializer = MonitorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor = self.actor(request)
        urls = hub_urls_for(request)
        mode = serializer.validated_data["mode"]
        return self.acting(
            request,
            conference,
            lambda: actions.monitor(conference=conference, actor=actor, mode=mode, urls=urls),
        )


class LeaveApi(MonitorApi):
    @extend_schema(request=None)
    def post(self, request: Request, name: str) -> Response:
        conference = self.conference(request, name)
        actor = self.actor(request)
        return self.acting(
            request, conference, lambda: actions.leave(conference=conference, actor=actor)
        )


class CancelCallApi(HubApiView):
    """Stop the agent's own outgoing call while it rings."""

    @extend_schema(request=None, responses=CancelledOutput)
    def post(self, request: Request, sid: str) -> Response:
        agent = self.agent(request)
        family = get_object_or_404(
            call_families_visible_to(request.user).filter(from_number=agent.client_address), sid=sid
        )
        try:
            actions.cancel_outgoing_call(family=family, actor=self.actor(request))
        except HubConflict as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except HubUnavailable:
            return Response(
                {"detail": "Twilio cannot be reached; nothing changed. Try again."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"sid": family.sid, "canceled": True})
