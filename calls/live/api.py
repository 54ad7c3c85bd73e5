"""The live board as JSON, polled by the page every second or so.

Each answer carries an ETag of its body: a poll that finds nothing new gets 304 and no body.
"""

import hashlib
import json
from dataclasses import asdict
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agents.constants import Availability
from agents.user_time_zone import UserTimeZoneApiView
from calls.live.selectors import LiveBoard, live_board
from calls.log.api import CanViewCallLog


class LiveLegSerializer(serializers.Serializer[Any]):
    sid = serializers.CharField()
    status = serializers.CharField(help_text="Twilio's CallStatus; empty when not known yet.")
    agent = serializers.CharField(allow_null=True, help_text="Our agent's identity on this leg.")
    to = serializers.CharField()
    stale = serializers.BooleanField(
        help_text="No news from Twilio for RECONCILE_STALE_AFTER seconds; the stale sweep "
        "asks Twilio about it."
    )


class LiveCallSerializer(serializers.Serializer[Any]):
    sid = serializers.CharField(help_text="The parent leg's SID.")
    kind = serializers.CharField(
        help_text="inbound, outbound, internal or other (FamilyKind); empty until known."
    )
    # "from" is a Python keyword: declared below under its JSON name.
    to = serializers.CharField()
    started_at = serializers.DateTimeField()
    legs = LiveLegSerializer(many=True, help_text="The parent leg first, then its children.")
    conference = serializers.CharField(
        allow_null=True,
        help_text="The conference the call meets in (POST /api/hub/<conference>/monitor/ "
        "to listen in); null before it is answered and without the conference hub.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        return {
            "sid": fields["sid"],
            "kind": fields["kind"],
            "from": serializers.CharField(source="from_address"),
            **{name: fields[name] for name in ("to", "started_at", "legs", "conference")},
        }


class LiveAgentSerializer(serializers.Serializer[Any]):
    identity = serializers.CharField()
    availability = serializers.ChoiceField(choices=Availability.choices)
    on_call = serializers.BooleanField()
    # "with" is a Python keyword too.
    since = serializers.DateTimeField(allow_null=True)
    wrap_up_until = serializers.DateTimeField(
        allow_null=True, help_text="Wrapping up after a queue call until then."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        return {
            **{name: fields[name] for name in ("identity", "availability", "on_call")},
            "with": serializers.CharField(source="with_address", allow_null=True),
            "since": fields["since"],
            "wrap_up_until": fields["wrap_up_until"],
        }


class LiveCountsSerializer(serializers.Serializer[Any]):
    ringing = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    answered_today = serializers.IntegerField()
    missed_today = serializers.IntegerField()


class LiveQueueSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    waiting = serializers.IntegerField(help_text="Callers waiting now.")
    longest_waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="When the caller waiting longest arrived."
    )
    wrapping_up = serializers.ListField(
        child=serializers.CharField(), help_text="Members wrapping up after a call."
    )


class LiveBoardSerializer(serializers.Serializer[Any]):
    calls = LiveCallSerializer(many=True)
    agents = LiveAgentSerializer(many=True)
    counts = LiveCountsSerializer()
    queues = LiveQueueSerializer(many=True)


def _etag(data: Any) -> str:
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


class LiveBoardApi(UserTimeZoneApiView):
    """Calls not yet ended, the agents and today's counts; the same data as /calls/live/."""

    permission_classes = [CanViewCallLog]

    @extend_schema(responses=LiveBoardSerializer)
    def get(self, request: Request) -> Response:
        board: LiveBoard = live_board(user=request.user, now=timezone.now())
        data = LiveBoardSerializer(
            {
                "calls": board.calls,
                "agents": board.agents,
                "counts": asdict(board.counts),
                "queues": board.queues,
            }
        ).data
        etag = _etag(data)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers=headers)
        return Response(data, headers=headers)
