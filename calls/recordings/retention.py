"""Delete recordings older than RECORDING_RETENTION_DAYS at Twilio, keeping our rows.

The media goes first (DELETE at Twilio), then our link to it (deleted_at): a failure leaves
the recording playable and is retried by the next scheduled run, its reason in the admin.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException

from calls.constants import FINAL_RECORDING_STATUSES
from calls.models import Recording
from calls.recordings.writer import recording_mark_deleted, recording_note_deletion_failure
from voiceproject.twilio_rest import TwilioUnavailable, twilio_rest_client

logger = logging.getLogger(__name__)

# Recordings deleted per run; the next run takes the rest.
RETENTION_BATCH = 500


@dataclass(frozen=True)
class RetentionOutcome:
    deleted: int
    failed: int


def recordings_delete_expired(*, now: datetime) -> RetentionOutcome:
    """Delete at Twilio every final recording made before the retention period."""
    if settings.RECORDING_RETENTION_DAYS is None:
        return RetentionOutcome(deleted=0, failed=0)
    cutoff = now - timedelta(days=settings.RECORDING_RETENTION_DAYS)
    expired = list(
        Recording.objects.filter(
            deleted_at__isnull=True, created_at__lt=cutoff, status__in=FINAL_RECORDING_STATUSES
        )
        .order_by("created_at", "id")
        .values_list("id", "sid")[:RETENTION_BATCH]
    )
    client = twilio_rest_client()
    deleted = failed = 0
    for recording_id, sid in expired:
        try:
            client.recordings(sid).delete()
        except TwilioRestException as error:
            if error.status != 404:
                recording_note_deletion_failure(recording_id=recording_id, error=str(error))
                failed += 1
                continue
            # Already gone at Twilio (deleted in the Console): our link goes too.
        except (TwilioUnavailable, TwilioException) as error:
            recording_note_deletion_failure(recording_id=recording_id, error=str(error))
            failed += 1
            continue
        recording_mark_deleted(recording_id=recording_id)
        deleted += 1
    if failed:
        logger.warning("Retention could not delete %d recording(s) at Twilio", failed)
    return RetentionOutcome(deleted=deleted, failed=failed)
