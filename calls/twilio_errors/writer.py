"""The one writer of Twilio's error reports (calls_twilioerror)."""

from django.db import transaction
from django.utils import timezone

from calls.deliveries.errors import TwilioErrorReport
from calls.models import Call, TwilioError


@transaction.atomic
def twilio_errors_record(*, reports: list[TwilioErrorReport]) -> None:
    """Store each report once by its event id, linked to its leg when it names one of ours;
    a report delivered again is left as stored."""
    resource_sids = {report.resource_sid for report in reports if report.resource_sid}
    call_ids = dict(Call.objects.filter(sid__in=resource_sids).values_list("sid", "id"))
    now = timezone.now()
    TwilioError.objects.bulk_create(
        [
            TwilioError(
                event_id=report.event_id,
                code=report.code,
                level=report.level,
                message=report.message,
                resource_sid=report.resource_sid,
                request_url=report.request_url,
                call_id=call_ids.get(report.resource_sid),
                occurred_at=report.occurred_at,
                received_at=now,
            )
            for report in reports
        ],
        ignore_conflicts=True,
    )
