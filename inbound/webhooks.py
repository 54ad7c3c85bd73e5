"""A queue's wait loop: Twilio requests it for a waiting caller, again after each turn of
hold music and after each offer that rang out (calls.webhooks.unanswered)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils import timezone

from calls.deliveries.calls import (
    InvalidCallback,
    TwilioCallback,
    parse_twilio_callback,
    queue_id_in,
)
from calls.deliveries.receiving import Parsed, retry_on_database_outage, twilio_webhook_parsed_by
from calls.deliveries.signatures import public_url
from calls.webhooks.ringing import nobody_eligible
from calls.webhooks.views import webhook_urls
from inbound.hold_music import HOLD_MUSIC_PATH
from inbound.queue_routing import queue_caller_left, queue_caller_next_step
from inbound.queue_twiml import twiml_for_queue_step


@dataclass(frozen=True)
class QueueWaitRequest:
    callback: TwilioCallback
    queue_id: int

    @property
    def account_sid(self) -> str:
        return self.callback.account_sid


def _wait_request(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    queue_id = queue_id_in(query)
    if queue_id is None:
        raise InvalidCallback("queue is missing.")
    callback = parse_twilio_callback(form, received_at=received_at, takes_parent=False)
    return QueueWaitRequest(callback=callback, queue_id=queue_id)


@twilio_webhook_parsed_by(_wait_request)
@retry_on_database_outage
def queue_wait(request: HttpRequest, wait: QueueWaitRequest) -> HttpResponse:
    """Ring the caller's agents when it is her turn and one is free; else hold music."""
    urls = webhook_urls(request)
    callback = wait.callback
    if callback.is_terminal:
        queue_caller_left(call_sid=callback.call_sid, at=timezone.now())
        return _twiml("<Response/>")
    step = queue_caller_next_step(queue_id=wait.queue_id, call_sid=callback.call_sid)
    if step is None:
        # Deleted while she waited: the number's own unanswered-call policy.
        return _twiml(str(nobody_eligible(urls)))
    hold_music_url = settings.QUEUE_HOLD_MUSIC_URL or public_url(request, static(HOLD_MUSIC_PATH))
    return _twiml(
        twiml_for_queue_step(step=step, callback=callback, urls=urls, hold_music_url=hold_music_url)
    )


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")
