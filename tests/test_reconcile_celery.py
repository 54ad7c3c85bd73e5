import logging
import time
from datetime import timedelta

import pytest
from celery.beat import EmbeddedService
from django.utils import timezone

from calls import tasks
from calls.models import Call, ReconcileRun
from tests.factories import random_sid
from voiceproject.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_worker_on_redis_runs_the_scheduled_reconciliation(fake_twilio, celery_on_redis):
    sid = random_sid("CA")
    fake_twilio.add_call(sid, start_time=timezone.now() - timedelta(minutes=3))

    run_id = tasks.reconcile_recent_calls.delay().get(timeout=30)

    assert ReconcileRun.objects.get(pk=run_id).outcome == ReconcileRun.Outcome.SUCCEEDED
    assert Call.objects.filter(sid=sid, status="completed").exists()


def test_beat_schedules_the_reconciliation_tasks_at_the_configured_intervals(settings):
    celery_app.loader.import_default_modules()  # what a worker does at start: find every task
    schedule = celery_app.conf.beat_schedule

    assert schedule["reconcile-recent-calls"]["schedule"] == settings.RECONCILE_INTERVAL
    assert schedule["reconcile-stale-calls"]["schedule"] == settings.RECONCILE_STALE_INTERVAL
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks


def test_tasks_run_in_process_without_a_broker(fake_twilio, celery_in_process):
    run_id = tasks.reconcile_recent_calls.delay().get()

    assert ReconcileRun.objects.get(pk=run_id).outcome == ReconcileRun.Outcome.SUCCEEDED


def test_scheduled_run_in_process_is_skipped_while_its_previous_run_goes_on(
    fake_twilio, celery_in_process
):
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECENT)

    assert tasks.reconcile_recent_calls.delay().get() is None
    assert fake_twilio.requests == []


def wait_until(condition, *, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_calls_and_recordings_scheduled_at_the_same_instant_both_run(
    fake_twilio, celery_workers_on_redis
):
    lost = random_sid("CA")
    fake_twilio.add_call(lost, start_time=timezone.now() - timedelta(minutes=3))
    fake_twilio.slow_next(1, delay=1.5)  # the recordings' listing: it holds its lock

    # What beat sends when both entries fall due together.
    recordings = tasks.reconcile_recent_recordings.apply_async(expires=300)
    wait_until(lambda: fake_twilio.requests)
    calls = tasks.reconcile_recent_calls.apply_async(expires=300)

    calls_run = ReconcileRun.objects.get(pk=calls.get(timeout=30))
    recordings_run = ReconcileRun.objects.get(pk=recordings.get(timeout=30))
    assert calls_run.outcome == recordings_run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert calls_run.started_at < recordings_run.finished_at  # side by side
    assert Call.objects.filter(sid=lost, status="completed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_skipped_for_its_previous_one_is_tried_again_within_seconds(
    fake_twilio, celery_on_redis, settings, caplog
):
    caplog.set_level(logging.INFO, logger="calls.tasks")
    settings.RECONCILE_SKIPPED_RETRY = 1
    lost = random_sid("CA")
    fake_twilio.add_call(lost, start_time=timezone.now() - timedelta(minutes=3))
    previous = ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECENT)

    sent_at = time.monotonic()
    result = tasks.reconcile_recent_calls.apply_async(expires=settings.RECONCILE_INTERVAL)
    wait_until(lambda: "waits for its previous run" in caplog.text)
    ReconcileRun.objects.filter(pk=previous.pk).update(
        outcome=ReconcileRun.Outcome.SUCCEEDED, finished_at=timezone.now()
    )
    run = ReconcileRun.objects.get(pk=result.get(timeout=30))

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert time.monotonic() - sent_at < 10
    assert Call.objects.filter(sid=lost, status="completed").exists()


@pytest.mark.django_db(transaction=True)
def test_beat_runs_recent_calls_and_recordings_each_time_they_fall_due_together(
    fake_twilio, celery_workers_on_redis, tmp_path, caplog
):
    """The production schedule's two entries, due every 2 s instead of every interval."""
    caplog.set_level(logging.INFO, logger="calls.tasks")
    fake_twilio.slow_next(100, delay=0.3)  # every run still lists when the other starts
    entries = ["reconcile-recent-calls", "reconcile-recent-recordings"]
    schedule = {
        name: {**celery_app.conf.beat_schedule[name], "schedule": 2, "options": {"expires": 2}}
        for name in entries
    }
    previous, celery_app.conf.beat_schedule = celery_app.conf.beat_schedule, schedule
    beat = EmbeddedService(celery_app, thread=True, schedule_filename=str(tmp_path / "beat"))
    beat.start()
    try:
        succeeded = ReconcileRun.objects.filter(outcome=ReconcileRun.Outcome.SUCCEEDED)
        wait_until(lambda: succeeded.filter(kind="recent").count() >= 3, seconds=30)
        wait_until(lambda: succeeded.filter(kind="recordings").count() >= 3, seconds=10)
    finally:
        beat.stop()
        celery_app.conf.beat_schedule = previous
    assert "Skipped" not in caplog.text
    assert "waits for its previous run" not in caplog.text
