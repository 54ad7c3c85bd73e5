"""The URLs Twilio reports its errors to: the Console's Debugger webhook and an Event Streams
webhook sink subscribed to com.twilio.error-logs.error.logged."""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.deliveries.errors import (
    TwilioErrorReport,
    parse_debugger_event,
    parse_error_log_events,
)
from calls.deliveries.receiving import Parsed, retry_on_database_outage, twilio_webhook_parsed_by
from calls.deliveries.signatures import twilio_signed_json_list
from calls.twilio_errors.writer import twilio_errors_record

logger = logging.getLogger(__name__)

# An answer names this many malformed events at most.
REFUSALS_SHOWN = 10


def _debugger_event(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_debugger_event(form, query, received_at=received_at)


@twilio_webhook_parsed_by(_debugger_event)
@retry_on_database_outage
def debugger_event(request: HttpRequest, report: TwilioErrorReport) -> HttpResponse:
    twilio_errors_record(reports=[report])
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
@twilio_signed_json_list
@retry_on_database_outage
def error_log_events(request: HttpRequest, events: list[Any]) -> HttpResponse:
    """A batch of CloudEvents: nothing stored when one is another account's (403); otherwise
    every well-formed error stored, and 400 naming the malformed events, if any."""
    batch = parse_error_log_events(events, received_at=timezone.now())
    if any(report.account_sid != settings.TWILIO_ACCOUNT_SID for report in batch.reports):
        logger.warning("Refused Twilio error events for another account")
        return _plain("An event's account_sid is not this server's Twilio account.", status=403)
    twilio_errors_record(reports=batch.reports)
    if batch.refused:
        logger.warning("Refused %d Twilio error event(s): %s", len(batch.refused), batch.refused[0])
        return _plain("\n".join(batch.refused[:REFUSALS_SHOWN]), status=400)
    return HttpResponse(status=204)


def _plain(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
