"""Conferences still open here that Twilio may have ended without our hearing: asked again
through the REST API (Conferences and their Participants), as reconciliation asks about
calls whose last callback never came."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from calls.conference_table import (
    conference_close_from_rest,
    conference_move_failed,
    conference_note_gone,
)
from calls.constants import ConferenceStatus
from calls.models import Conference
from voiceproject.twilio_rest import (
    TwilioUnavailable,
    rest_credentials_required,
    twilio_rest_client,
)

logger = logging.getLogger(__name__)

# A conference is asked about once nothing was heard of it for this long.
QUIET_FOR = timedelta(minutes=5)
# At most this many per run: the oldest first; the rest wait for the next run.
PER_RUN = 200


@dataclass(frozen=True)
class ConferenceCheck:
    asked: int = 0
    closed: int = 0
    failed: int = 0


def reconcile_open_conferences(*, now: datetime | None = None) -> ConferenceCheck:
    rest_credentials_required()
    now = now or timezone.now()
    quiet = Conference.objects.filter(ended_at__isnull=True, updated_at__lt=now - QUIET_FOR)
    client = twilio_rest_client()
    asked = closed = failed = 0
    for conference in quiet.order_by("updated_at")[:PER_RUN]:
        asked += 1
        try:
            closed += _check(client, conference, now=now)
        except (TwilioRestException, TwilioUnavailable) as error:
            failed += 1
            logger.warning("Conference %s not checked: %s", conference, error)
    return ConferenceCheck(asked=asked, closed=closed, failed=failed)


def _check(client: Client, conference: Conference, *, now: datetime) -> int:
    if conference.sid is None:
        # The move never reached Twilio, or its first callback was lost.
        found = client.conferences.list(friendly_name=conference.friendly_name, limit=1)
        if not found:
            if conference.status == ConferenceStatus.MOVING:
                conference_move_failed(conference=conference)
            return 0
        Conference.objects.filter(pk=conference.pk).update(sid=found[0].sid)
        conference.sid = found[0].sid
    resource = client.conferences(conference.sid).fetch()
    if resource.status == ConferenceStatus.COMPLETED:
        conference_close_from_rest(
            conference=conference,
            ended_at=resource.date_updated or now,
            reason=resource.reason_conference_ended or "",
            ending_call_sid=resource.call_sid_ending_conference or "",
        )
        return 1
    live = {
        participant.call_sid
        for participant in client.conferences(conference.sid).participants.list()
    }
    conference_note_gone(conference=conference, call_sids=live, at=now)
    return 0
