"""The call log's JSON API: families with their children, and one family with its events."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from agents.user_time_zone import UserTimeZoneApiView
from calls.access import call_families_visible_to, can_view_call_log
from calls.constants import FamilyKind, FamilyOutcome
from calls.log.families import ALL_EVENTS, FAMILY_EVENTS_SHOWN, CallFamily, call_family_get
from calls.log.filters import CallFamilyFilter
from calls.log.paging import DEFAULT_SORT, PAGE_SIZE, SORTS, InvalidCursor, call_family_page
from calls.log.stats import call_stats_for, queue_figures_for, stats_period
from calls.models import Call, CallEvent, Recording


class CanViewCallLog(BasePermission):
    """Holders of `calls.view_call` see every call; agents see their own families."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_view_call_log(request.user)


class CallFamilyFilterBackend(DjangoFilterBackend):
    """The filters, kept on the view once validated, so that the paginator reads the sort
    order from their cleaned data as the pages do."""

    def get_filterset(
        self, request: Request, queryset: QuerySet[Call], view: APIView
    ) -> FilterSet | None:
        filterset: FilterSet | None = super().get_filterset(request, queryset, view)
        setattr(view, "filterset", filterset)  # noqa: B010
        return filterset


class CallFamilyPagination(BasePagination):
    """Keyset (cursor) pages of families in the filters' sort order: as fast on the last page
    of millions of calls as on the first, and no COUNT of the table."""

    cursor_query_param = "cursor"

    def paginate_queryset(  # type: ignore[override]  # keyset pages need a queryset of calls
        self, queryset: QuerySet[Call], request: Request, view: APIView | None = None
    ) -> list[Call]:
        self.request = request
        filters = getattr(view, "filterset", None)
        if not isinstance(filters, CallFamilyFilter):
            raise ImproperlyConfigured("CallFamilyPagination needs CallFamilyFilterBackend.")
        try:
            self.page = call_family_page(
                queryset,
                sort=filters.sort_order,
                cursor=request.query_params.get(self.cursor_query_param),
            )
        except InvalidCursor as error:
            raise NotFound("Invalid cursor.") from error
        return [family.parent for family in self.page.families]

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "first": remove_query_param(
                    self.request.build_absolute_uri(), self.cursor_query_param
                ),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "first", "results"],
            "properties": {
                "next": link,
                "previous": link,
                "first": {"type": "string", "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": "sort",
                "required": False,
                "in": "query",
                "description": "Order of the families: "
                + ", ".join(f"`{value}` ({label.lower()})" for value, label in SORTS.items())
                + f"; `{DEFAULT_SORT}` when omitted.",
                "schema": {"type": "string", "enum": list(SORTS)},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": f"Opaque position from a `next` or `previous` link; "
                f"pages hold {PAGE_SIZE} families.",
                "schema": {"type": "string"},
            },
        ]


class LegOutput(serializers.Serializer[Call]):
    sid = serializers.CharField()
    parent_sid = serializers.CharField(source="parent.sid", default=None, allow_null=True)
    direction = serializers.CharField()
    from_number = serializers.CharField()
    to_number = serializers.CharField()
    agent = serializers.CharField(source="agent.identity", default=None, allow_null=True)
    status = serializers.CharField()
    start_time = serializers.DateTimeField(allow_null=True)
    answer_time = serializers.DateTimeField(allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    price = serializers.DecimalField(max_digits=12, decimal_places=5, allow_null=True)
    price_unit = serializers.CharField()
    error_code = serializers.IntegerField(allow_null=True)


class FamilyFacts(serializers.Serializer[Call]):
    """What the whole family is, read from its parent leg."""

    kind = serializers.ChoiceField(
        choices=[*FamilyKind.values, ""],
        help_text="inbound (a customer called one of our numbers), outbound (an agent called "
        "a number), internal (agent to agent), other; empty while not known yet.",
    )
    outcome = serializers.ChoiceField(choices=FamilyOutcome.values)
    answered_by = serializers.CharField(
        source="answered_by.identity",
        default=None,
        allow_null=True,
        help_text="The agent who answered an inbound or internal call.",
    )
    hold_seconds = serializers.IntegerField(
        source="conference.hold_seconds",
        default=None,
        allow_null=True,
        help_text="Seconds the customer spent on hold; null for a call with no conference.",
    )
    transfers = serializers.IntegerField(
        source="conference.transfers", default=None, allow_null=True
    )
    ended_by = serializers.CharField(
        source="conference.ended_by",
        default=None,
        allow_null=True,
        help_text="customer, agent or system (empty while going); null with no conference.",
    )
    disposition = serializers.CharField(
        source="family_disposition.disposition.name",
        default=None,
        allow_null=True,
        help_text="The disposition picked for the family; null when none.",
    )
    note = serializers.CharField(
        source="family_disposition.note",
        default=None,
        allow_null=True,
        help_text="The note written about the family; null when none.",
    )


class FamilyOutput(LegOutput, FamilyFacts):
    children = LegOutput(many=True, source="children.all")


class EventOutput(serializers.Serializer[CallEvent]):
    call_sid = serializers.CharField(source="call.sid")
    status = serializers.CharField()
    sequence_number = serializers.IntegerField(allow_null=True)
    timestamp = serializers.DateTimeField(allow_null=True)
    callback_source = serializers.CharField()
    received_at = serializers.DateTimeField()
    parameters = serializers.DictField(
        child=serializers.CharField(), help_text="The form parameters as Twilio sent them."
    )


class RecordingOutput(serializers.Serializer[Recording]):
    sid = serializers.CharField()
    call_sid = serializers.CharField(source="call.sid")
    kind = serializers.CharField()
    status = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    channels = serializers.IntegerField(allow_null=True)
    # The API calls it source like Twilio; DRF's metaclass takes it before Field.source counts.
    source = serializers.CharField()  # type: ignore[assignment]
    started_at = serializers.DateTimeField(allow_null=True)
    media_url = serializers.SerializerMethodField(
        help_text="The audio (MP3) through this server, with your session or API token "
        "(Range works); null once retention deleted it."
    )

    def get_media_url(self, recording: Recording) -> str | None:
        if recording.deleted_at is not None:
            return None
        path = reverse("recordings:media", kwargs={"sid": recording.sid, "extension": "mp3"})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ParticipantOutput(serializers.Serializer[Any]):
    call_sid = serializers.CharField()
    # DRF's metaclass takes `label` before Field.label counts, as `source` below.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="customer, agent:<identity>, supervisor:<identity>, party:<n>."
    )
    role = serializers.CharField()
    invited_at = serializers.DateTimeField(allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    left_at = serializers.DateTimeField(allow_null=True)
    reason_left = serializers.CharField(help_text="Twilio's ReasonParticipantLeft.")
    holds = serializers.IntegerField()
    hold_seconds = serializers.IntegerField()
    coaching = serializers.BooleanField()


class TimelineOutput(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    what = serializers.CharField()
    who = serializers.CharField()
    detail = serializers.CharField()


class ConferenceOutput(serializers.Serializer[Any]):
    """The family's conference: every connected call meets in one (the conference hub)."""

    sid = serializers.CharField(source="conference.sid", allow_null=True)
    name = serializers.CharField(source="conference.friendly_name")
    status = serializers.CharField(source="conference.status")
    started_at = serializers.DateTimeField(source="conference.started_at", allow_null=True)
    ended_at = serializers.DateTimeField(source="conference.ended_at", allow_null=True)
    ended_by = serializers.CharField(
        source="conference.ended_by", help_text="customer, agent or system; empty while going."
    )
    reason_ended = serializers.CharField(source="conference.reason_ended")
    hold_seconds = serializers.IntegerField(source="conference.hold_seconds")
    transfers = serializers.IntegerField(source="conference.transfers")
    participants = ParticipantOutput(many=True)
    timeline = TimelineOutput(many=True, help_text="Twilio's events and our actions, in order.")


class FamilyDetailOutput(serializers.Serializer[CallFamily]):
    family = FamilyFacts(source="parent")
    parent = LegOutput()
    children = LegOutput(many=True)
    events = EventOutput(many=True, help_text="Latest first.")
    more_events = serializers.BooleanField(
        help_text="Older callbacks exist beyond `events`; ask again with `events=all`."
    )
    recordings = RecordingOutput(many=True)
    conference = ConferenceOutput(allow_null=True)


@extend_schema(
    summary="List call families",
    description="Parent legs, each with its child legs, newest first (or as `sort` says). "
    "A filter other than the date range matches a family when one of its legs matches.",
)
class CallFamilyListApi(UserTimeZoneApiView, generics.ListAPIView[Call]):
    serializer_class = FamilyOutput
    filterset_class = CallFamilyFilter
    filter_backends = [CallFamilyFilterBackend]
    pagination_class = CallFamilyPagination
    permission_classes = [CanViewCallLog]

    def get_queryset(self) -> QuerySet[Call]:
        return call_families_visible_to(self.request.user).select_related("conference")


class CallFamilyDetailApi(UserTimeZoneApiView):
    permission_classes = [CanViewCallLog]

    @extend_schema(
        summary="Get a call family",
        description="Any leg's SID (parent or child) returns its whole family and the "
        f"latest {FAMILY_EVENTS_SHOWN} callbacks Twilio sent about its legs, latest first; "
        "`events=all` returns every one.",
        parameters=[
            OpenApiParameter("sid", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("events", OpenApiTypes.STR, enum=[ALL_EVENTS]),
        ],
        responses=FamilyDetailOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        family = call_family_get(
            sid=sid,
            families=call_families_visible_to(request.user),
            all_events=request.query_params.get("events") == ALL_EVENTS,
        )
        if family is None:
            raise NotFound("No call with this SID that you may see.")
        return Response(FamilyDetailOutput(family, context={"request": request}).data)


class AgentStatsOutput(serializers.Serializer[Any]):
    identity = serializers.CharField()
    offered = serializers.IntegerField(help_text="Inbound calls that rang the agent.")
    answered = serializers.IntegerField(help_text="... that the agent answered.")
    answered_by_colleague = serializers.IntegerField(help_text="... a colleague answered.")
    missed = serializers.IntegerField(help_text="... that nobody answered.")
    answer_rate = serializers.FloatField(
        allow_null=True, help_text="answered / (offered - answered_by_colleague)."
    )
    median_answer_seconds = serializers.FloatField(allow_null=True)
    talk_seconds = serializers.IntegerField()
    average_talk_seconds = serializers.FloatField(allow_null=True)


class AgentHandlingOutput(serializers.Serializer[Any]):
    identity = serializers.CharField()
    calls = serializers.IntegerField(help_text="Calls she answered that met in a conference.")
    hold_seconds = serializers.IntegerField(help_text="Customers' time on hold, in total.")
    calls_held = serializers.IntegerField()
    average_hold_seconds = serializers.FloatField(
        allow_null=True, help_text="Per call put on hold."
    )
    transfers = serializers.IntegerField()


class TeamStatsOutput(serializers.Serializer[Any]):
    inbound = serializers.IntegerField(help_text="Inbound calls that ended in the period.")
    answered = serializers.IntegerField()
    answered_within_target = serializers.IntegerField()
    service_level_seconds = serializers.IntegerField()
    service_level = serializers.FloatField(allow_null=True)
    abandoned = serializers.IntegerField(help_text="Ended with nobody answering, no voicemail.")
    abandon_rate = serializers.FloatField(allow_null=True)


class QueueStatsOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    offered = serializers.IntegerField(help_text="Callers who entered the queue in the period.")
    answered = serializers.IntegerField()
    abandoned = serializers.IntegerField(help_text="Hung up while waiting.")
    abandoned_within_target = serializers.IntegerField(
        help_text="... within SERVICE_LEVEL_SECONDS (short abandons)."
    )
    median_abandon_seconds = serializers.FloatField(allow_null=True)
    timed_out = serializers.IntegerField(help_text="Waited the maximum wait.")
    waiting = serializers.IntegerField(help_text="Still waiting.")
    answered_within_target = serializers.IntegerField()
    service_level_seconds = serializers.IntegerField()
    service_level = serializers.FloatField(
        allow_null=True, help_text="answered_within_target / (offered - waiting)."
    )
    median_wait_seconds = serializers.FloatField(allow_null=True, help_text="Of those answered.")
    p90_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="Nine in ten answered callers waited at most this long."
    )
    dispositions = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Callers per disposition their call was given, by its name.",
    )


class AgentOccupancyOutput(serializers.Serializer[Any]):
    identity = serializers.CharField()
    available_seconds = serializers.IntegerField()
    talk_seconds = serializers.IntegerField()
    wrap_up_seconds = serializers.IntegerField()
    occupancy = serializers.FloatField(
        allow_null=True, help_text="(talk + wrap-up) / time available."
    )


class VolumeOutput(serializers.Serializer[Any]):
    period = serializers.CharField(help_text="The day (YYYY-MM-DD) or the hour of the day.")
    calls = serializers.DictField(child=serializers.IntegerField(), help_text="By kind.")


class CallStatsOutput(serializers.Serializer[Any]):
    time_zone = serializers.CharField(help_text="The zone days and hours are counted in.")
    kinds = serializers.ListField(child=serializers.CharField())
    per_day = VolumeOutput(many=True)
    per_hour = VolumeOutput(many=True)
    team = TeamStatsOutput()
    agents = AgentStatsOutput(many=True)
    handling = AgentHandlingOutput(
        many=True, help_text="Hold time and transfers of the calls each agent answered."
    )
    queues = QueueStatsOutput(many=True, help_text="Every queue; empty for an agent.")
    occupancy = AgentOccupancyOutput(many=True, help_text="An agent sees only her own.")


class CallStatsApi(UserTimeZoneApiView):
    permission_classes = [CanViewCallLog]

    @extend_schema(
        summary="Call statistics",
        description="Calls per day and hour by kind, the team's service level and abandon "
        "rate, each agent's answer rate and occupancy, and each queue's figures (by the "
        "callers' arrival in the period, whatever the other filters), over the filtered "
        "families (the last 30 days unless `started_after`/`started_before` say otherwise); "
        "the filters are those of the list. An agent sees only her own figures. Filters it "
        "does not understand answer 400.",
        responses=CallStatsOutput,
    )
    def get(self, request: Request) -> Response:
        query, first_day, last_day = stats_period(request.query_params)
        filters = CallFamilyFilter(query, queryset=call_families_visible_to(request.user))
        if filters.refused:
            raise ValidationError(filters.refused)
        stats = call_stats_for(request.user, filters, first_day=first_day, last_day=last_day)
        queue_figures = queue_figures_for(request.user, first_day=first_day, last_day=last_day)
        data = {
            "time_zone": timezone.get_current_timezone_name(),
            "kinds": stats.kinds,
            "per_day": [
                {"period": day.isoformat(), "calls": calls} for day, calls in stats.per_day.items()
            ],
            "per_hour": [
                {"period": f"{hour:02d}", "calls": calls} for hour, calls in stats.per_hour.items()
            ],
            "team": stats.team,
            "agents": stats.agents,
            "handling": stats.handling,
            "queues": queue_figures.queues,
            "occupancy": queue_figures.occupancy,
        }
        return Response(CallStatsOutput(data).data)
