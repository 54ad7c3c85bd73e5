"""Celery tasks of the project itself."""

from celery import current_app, shared_task

from voiceproject.heartbeats import BEAT, heartbeat_write


@shared_task
def readiness_beat_heartbeat() -> None:
    """Scheduled by beat: its run proves beat schedules and a worker takes what it sends."""
    heartbeat_write(current_app, BEAT)
