"""The dispositions API: the list offered, and a family's disposition and note (any leg's
SID names its family, so a softphone asks with its own leg's)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.user_time_zone import UserTimeZoneApiView
from calls.access import call_families_visible_to, may_write_family_disposition
from calls.constants import NOTE_MAX_LENGTH
from calls.dispositions.selectors import dispositions_offered, family_disposition_of
from calls.dispositions.writer import family_disposition_write
from calls.log.api import CanViewCallLog
from calls.log.families import family_parent_get
from calls.models import Call, Disposition

SID_PARAMETER = OpenApiParameter(
    "sid", OpenApiTypes.STR, OpenApiParameter.PATH, description="Any leg's call SID."
)


class DispositionOutput(serializers.Serializer[Disposition]):
    name = serializers.CharField()


class DispositionListApi(APIView):
    permission_classes = [CanViewCallLog]

    @extend_schema(
        summary="List dispositions",
        description="The dispositions agents may pick, in the order supervisors set.",
        responses=DispositionOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return Response([DispositionOutput(choice).data for choice in dispositions_offered()])


class FamilyDispositionOutput(serializers.Serializer[Any]):
    call_sid = serializers.CharField(help_text="The family's parent leg.")
    disposition = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    written_by = serializers.CharField(allow_null=True, help_text="Username.")
    written_at = serializers.DateTimeField(allow_null=True)
    editable = serializers.BooleanField(help_text="You may write this family's.")


class FamilyDispositionInput(serializers.Serializer[Any]):
    disposition = serializers.SlugRelatedField(
        slug_field="name",
        queryset=dispositions_offered(),
        allow_null=True,
        required=False,
        default=None,
        help_text="The name of an active disposition; null for none.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        allow_blank=True,
        required=False,
        default="",
        trim_whitespace=True,
    )


class FamilyDispositionApi(UserTimeZoneApiView):
    """A family's disposition and note: anyone who sees the family reads them; the agent who
    handled it, and supervisors, write them (PUT replaces both; both empty clears them)."""

    permission_classes = [CanViewCallLog]

    @extend_schema(
        summary="Get a family's disposition and note",
        parameters=[SID_PARAMETER],
        responses=FamilyDispositionOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        return self.answer(request, self.parent(request, sid))

    @extend_schema(
        summary="Set a family's disposition and note",
        parameters=[SID_PARAMETER],
        request=FamilyDispositionInput,
        responses=FamilyDispositionOutput,
    )
    def put(self, request: Request, sid: str) -> Response:
        parent = self.parent(request, sid)
        if not may_write_family_disposition(request.user, parent):
            raise PermissionDenied(
                "Only the agent who handled this call, or a supervisor, may write its "
                "disposition and note."
            )
        serializer = FamilyDispositionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        family_disposition_write(
            parent=parent,
            disposition=serializer.validated_data["disposition"],
            note=serializer.validated_data["note"],
            written_by_id=request.user.pk,
        )
        return self.answer(request, parent)

    def parent(self, request: Request, sid: str) -> Call:
        parent = family_parent_get(sid=sid, families=call_families_visible_to(request.user))
        if parent is None:
            raise NotFound("No call with this SID that you may see.")
        return parent

    def answer(self, request: Request, parent: Call) -> Response:
        record = family_disposition_of(parent)
        data = {
            "call_sid": parent.sid,
            "disposition": record.disposition.name if record and record.disposition else None,
            "note": record.note if record else "",
            "written_by": record.written_by.get_username()
            if record and record.written_by
            else None,
            "written_at": record.written_at if record else None,
            "editable": may_write_family_disposition(request.user, parent),
        }
        return Response(FamilyDispositionOutput(data).data)
