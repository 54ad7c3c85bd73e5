"""Delete recordings older than RECORDING_RETENTION_DAYS at Twilio, keeping our rows.

A failed deletion is retried by the next scheduled run (calls.recordings.deletion).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from calls.constants import FINAL_RECORDING_STATUSES
from calls.models import Recording
from calls.recordings.deletion import recording_delete
from voiceproject.twilio_rest import twilio_rest_client

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
        if recording_delete(client=client, recording_id=recording_id, sid=sid) is None:
            deleted += 1
        else:
            failed += 1
    if failed:
        logger.warning("Retention could not delete %d recording(s) at Twilio", failed)
    return RetentionOutcome(deleted=deleted, failed=failed)
