"""Fetch finished legs' Voice Insights summaries and keep what they say (CallQuality).

Only the beat sweep asks: a summary is partial about 10 minutes after the call and complete
up to 30 minutes after, so nothing is gained by asking from the status callback, and the
hot callback path stays free of it. A leg is asked again with a growing delay until its
summary is complete or it is past Insights' 30 days. A refusal of the account (404, or 403
when Insights is not enabled) is recorded once and stops every leg's asking.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from calls.constants import CallStatus
from calls.models import Call, CallQuality, InsightsRefusal
from calls.quality.summary import QualityFacts, quality_facts
from voiceproject.twilio_rest import TwilioUnavailable, twilio_rest_client

logger = logging.getLogger(__name__)

# A partial summary exists about this long after the call ends.
FIRST_ASK_AFTER = timedelta(minutes=10)
# Insights keeps summaries this long; older legs are never asked about.
INSIGHTS_HORIZON = timedelta(days=30)
# The delay before asking again doubles from this, up to the cap.
RETRY_DELAY = timedelta(minutes=5)
RETRY_DELAY_MAX = timedelta(hours=6)
# Twilio ends any call within a day (its longest time limit): a bound on the start time lets
# the sweep read the (status, start_time) index.
LONGEST_CALL = timedelta(days=1)
# Legs asked about in one sweep; the rest wait for the next.
SWEEP_BATCH = 200
# The summary fields the facts are read from, as the helper library names them.
SUMMARY_FIELDS = (
    "processing_state",
    "call_state",
    "tags",
    "properties",
    "carrier_edge",
    "client_edge",
    "sdk_edge",
    "sip_edge",
)
# What Twilio answers for an account whose Insights it will not show.
REFUSED_STATUSES = {403, 404}


@dataclass(frozen=True)
class SweepOutcome:
    fetched: int = 0
    failed: int = 0
    refused: bool = False


def legs_due_for_quality(*, now: datetime, limit: int = SWEEP_BATCH) -> list[Call]:
    """Completed legs within Insights' horizon whose summary is not complete and is due."""
    return list(
        Call.objects.filter(
            status=CallStatus.COMPLETED,
            start_time__gte=now - INSIGHTS_HORIZON - LONGEST_CALL,
            end_time__gte=now - INSIGHTS_HORIZON,
            end_time__lte=now - FIRST_ASK_AFTER,
        )
        .filter(Q(quality__isnull=True) | Q(quality__next_attempt_at__lte=now))
        .order_by("end_time", "id")[:limit]
    )


def insights_refusal() -> InsightsRefusal | None:
    """The configured account's recorded refusal, if Twilio refused it."""
    return InsightsRefusal.objects.filter(account_sid=settings.TWILIO_ACCOUNT_SID).first()


def call_quality_sweep(*, now: datetime, client: Client | None = None) -> SweepOutcome:
    """Ask about each due leg; stop at the first refusal or when Twilio stays unavailable
    (a 429 storm is not made worse by asking about the rest)."""
    if insights_refusal() is not None:
        return SweepOutcome(refused=True)
    client = client or twilio_rest_client()
    fetched = failed = 0
    for call in legs_due_for_quality(now=now):
        try:
            quality = call_quality_fetch(call=call, client=client, now=now)
        except InsightsRefused:
            return SweepOutcome(fetched=fetched, failed=failed, refused=True)
        except TwilioUnavailable as error:
            logger.warning("Voice Insights unavailable; the sweep stops: %s", error)
            return SweepOutcome(fetched=fetched, failed=failed + 1)
        if quality.last_error:
            failed += 1
        else:
            fetched += 1
    return SweepOutcome(fetched=fetched, failed=failed)


class InsightsRefused(Exception):
    """Twilio refused the account's summaries; the refusal is recorded."""


def call_quality_fetch(*, call: Call, client: Client, now: datetime) -> CallQuality:
    """Fetch the leg's summary and store it, with when to ask again.

    Raises InsightsRefused after recording the account's refusal, and TwilioUnavailable
    (after the client's own retries) once the leg's next attempt is put off.
    """
    try:
        instance = client.insights.v1.calls(call.sid).summary().fetch(processing_state="all")
    except TwilioRestException as error:
        if error.status in REFUSED_STATUSES:
            InsightsRefusal.objects.get_or_create(
                account_sid=settings.TWILIO_ACCOUNT_SID,
                defaults={
                    "status": error.status,
                    "code": error.code if isinstance(error.code, int) else None,
                    "message": str(error.msg)[:1000],
                    "call_sid": call.sid,
                },
            )
            raise InsightsRefused(str(error)) from error
        # Any other refusal of this leg's summary will not change by asking again.
        return _store(call, now=now, error=f"HTTP {error.status}: {error.msg}", retry=False)
    except TwilioUnavailable as error:
        _store(call, now=now, error=str(error))
        raise
    facts = quality_facts({name: getattr(instance, name, None) for name in SUMMARY_FIELDS})
    if facts.processing_state not in ("partial", "complete"):
        return _store(call, now=now, error=f"processing_state {facts.processing_state!r}")
    return _store(call, now=now, facts=facts)


@transaction.atomic
def _store(
    call: Call,
    *,
    now: datetime,
    facts: QualityFacts | None = None,
    error: str = "",
    retry: bool = True,
) -> CallQuality:
    """Store the facts, or the error, on the locked row. A complete summary stays as it is:
    a sweep that overlapped another never replaces it with an older answer."""
    quality, _ = CallQuality.objects.select_for_update().get_or_create(call=call)
    if quality.processing_state == "complete":
        return quality
    quality.attempts += 1
    if facts is None:
        quality.last_error = error[:1000]
        quality.next_attempt_at = _next_attempt(quality, call, now) if retry else None
    else:
        quality.processing_state = facts.processing_state
        quality.call_state = facts.call_state
        quality.disconnected_by = facts.disconnected_by
        quality.tags = facts.tags
        quality.edges = facts.edges
        quality.codec = facts.codec
        quality.pdd_ms = facts.pdd_ms
        quality.last_sip_response_num = facts.last_sip_response_num
        quality.poor = facts.poor
        quality.fetched_at = now
        quality.last_error = ""
        complete = facts.processing_state == "complete"
        quality.next_attempt_at = None if complete else _next_attempt(quality, call, now)
    quality.save()
    return quality


def _next_attempt(quality: CallQuality, call: Call, now: datetime) -> datetime | None:
    """After a delay doubling with each attempt; None past Insights' horizon."""
    delay = min(RETRY_DELAY * 2 ** min(quality.attempts - 1, 16), RETRY_DELAY_MAX)
    when = now + delay
    ended = call.end_time
    return when if ended is None or when <= ended + INSIGHTS_HORIZON else None
