from celery import shared_task
from django.utils import timezone

from presence.availability import presence_lapse_silent_softphones as lapse_silent_softphones


@shared_task
def presence_lapse_silent_softphones() -> int:
    """Store offline for softphones whose heartbeat stopped, so the history records it."""
    return lapse_silent_softphones(now=timezone.now())
