"""The presence API: an agent's own availability, and the directory of colleagues."""

from dataclasses import asdict

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.constants import Availability, PresenceSource
from agents.models import Agent
from agents.selectors import NotAnActiveAgent, active_agent_for_user
from agents.user_time_zone import UserTimeZoneApiView
from calls.access import can_view_agent_directory
from inbound.wrap_up import WRAP_UP_EXTEND_MAX_SECONDS, wrap_up_end, wrap_up_extend
from presence.availability import presence_set
from presence.selectors import agent_directory, agent_presence


class PresenceOutputSerializer(serializers.Serializer[object]):
    identity = serializers.CharField()
    availability = serializers.ChoiceField(choices=Availability.choices)
    on_call = serializers.BooleanField(help_text="One of the agent's call legs is in progress.")
    since = serializers.DateTimeField(help_text="When the availability last changed.")
    wrap_up_until = serializers.DateTimeField(
        allow_null=True,
        help_text="While wrapping up after a queue call: when the wrap-up ends; routing "
        "offers no call until then.",
    )


class PresenceApi(UserTimeZoneApiView):
    """The logged-in agent's own presence.

    PUT (or POST, which `navigator.sendBeacon` sends) sets the availability. A client that
    sends `"heartbeat": true` (the browser softphone) must send it again within
    PRESENCE_TIMEOUT seconds or it lapses to `offline`; without, it stays until changed
    (mobile apps, which receive calls by push).
    """

    class PresenceInputSerializer(serializers.Serializer[object]):
        availability = serializers.ChoiceField(choices=Availability.choices)
        heartbeat = serializers.BooleanField(
            default=False, help_text="Lapse to offline unless set again within the timeout."
        )

    @extend_schema(responses=PresenceOutputSerializer)
    def get(self, request: Request) -> Response:
        return self.answer(self.agent(request))

    @extend_schema(request=PresenceInputSerializer, responses=PresenceOutputSerializer)
    def put(self, request: Request) -> Response:
        agent = self.agent(request)
        serializer = self.PresenceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        heartbeat = serializer.validated_data["heartbeat"]
        agent = presence_set(
            agent=agent,
            availability=serializer.validated_data["availability"],
            source=PresenceSource.SOFTPHONE if heartbeat else PresenceSource.API,
            changed_by=agent.user,
            heartbeat=heartbeat,
        )
        return self.answer(agent)

    @extend_schema(request=PresenceInputSerializer, responses=PresenceOutputSerializer)
    def post(self, request: Request) -> Response:
        return self.put(request)

    def agent(self, request: Request) -> Agent:
        try:
            return active_agent_for_user(user=request.user, purpose="have a presence")
        except NotAnActiveAgent as error:
            raise PermissionDenied(str(error)) from error

    def answer(self, agent: Agent) -> Response:
        return Response(asdict(agent_presence(agent=agent, now=timezone.now())))


class WrapUpApi(PresenceApi):
    """End the logged-in agent's wrap-up now, or extend it; answers her presence."""

    class WrapUpInputSerializer(serializers.Serializer[object]):
        action = serializers.ChoiceField(choices=["end", "extend"])
        seconds = serializers.IntegerField(
            min_value=1,
            max_value=WRAP_UP_EXTEND_MAX_SECONDS,
            default=60,
            help_text="How much longer, with `extend`.",
        )

    http_method_names = ["post", "options"]

    @extend_schema(request=WrapUpInputSerializer, responses=PresenceOutputSerializer)
    def post(self, request: Request) -> Response:
        agent = self.agent(request)
        serializer = self.WrapUpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        if serializer.validated_data["action"] == "end":
            wrap_up_end(agent=agent, now=now)
        else:
            wrap_up_extend(agent=agent, seconds=serializer.validated_data["seconds"], now=now)
        return self.answer(agent)


class IsAgentOrSupervisor(BasePermission):
    message = "Only agents and supervisors may see the agents' directory."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_view_agent_directory(request.user)


class AgentDirectoryApi(APIView):
    """The active agents and whether each can take a call: the softphone's directory."""

    permission_classes = [IsAuthenticated, IsAgentOrSupervisor]

    class DirectoryEntrySerializer(serializers.Serializer[object]):
        identity = serializers.CharField()
        display_name = serializers.CharField()
        availability = serializers.ChoiceField(
            source="current_availability", choices=Availability.choices
        )
        on_call = serializers.BooleanField()
        in_wrap_up = serializers.BooleanField(help_text="Finishing the work of a queue call.")

    @extend_schema(responses=DirectoryEntrySerializer(many=True))
    def get(self, request: Request) -> Response:
        agents = agent_directory(now=timezone.now())
        return Response(self.DirectoryEntrySerializer(instance=agents, many=True).data)
