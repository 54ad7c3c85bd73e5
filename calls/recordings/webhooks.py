"""The recording status callback: Twilio's word on a recording, for its one writer."""

from datetime import datetime

from django.http import HttpRequest, HttpResponse

from calls.deliveries.receiving import Parsed, retry_on_database_outage, twilio_webhook_parsed_by
from calls.deliveries.recordings import RecordingCallback, parse_recording_callback
from calls.recordings.writer import recording_apply_callback


def _recording_callback(
    form: dict[str, str], query: dict[str, str], received_at: datetime
) -> Parsed:
    return parse_recording_callback(form, query, received_at=received_at)


@twilio_webhook_parsed_by(_recording_callback)
@retry_on_database_outage
def recording_status(request: HttpRequest, callback: RecordingCallback) -> HttpResponse:
    recording_apply_callback(callback=callback)
    return HttpResponse(status=204)
