from datetime import timedelta

import pytest
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


def test_scheduled_run_is_skipped_while_another_runs(fake_twilio, celery_in_process):
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.SINGLE)

    assert tasks.reconcile_recent_calls.delay().get() is None
    assert fake_twilio.requests == []
