import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import Call, ReconcileRun
from calls.reconcile.runs import ReconcileAlreadyRunning, ReconcileLockLost, reconcile_recent_calls
from tests.factories import random_sid
from voiceproject.twilio_rest import (
    TwilioCredentialsRejected,
    TwilioUnavailable,
    twilio_rest_client,
)

pytestmark = pytest.mark.django_db


def add_recent_calls(fake_twilio, count: int) -> list[str]:
    now = timezone.now().replace(microsecond=0)
    sids = [random_sid("CA") for _ in range(count)]
    for minutes, sid in enumerate(sids, start=1):
        fake_twilio.add_call(sid, start_time=now - timedelta(minutes=minutes))
    return sids


def test_429_waits_as_long_as_retry_after_says(fake_twilio):
    add_recent_calls(fake_twilio, 1)
    fake_twilio.fail_next(1, 429, retry_after="1")

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    (_, _, refused_at), (_, _, retried_at) = fake_twilio.requests
    assert retried_at - refused_at >= 1.0
    assert Call.objects.count() == 1


def test_retry_after_longer_than_the_cap_fails_the_run_instead_of_sleeping(fake_twilio):
    fake_twilio.fail_next(1, 429, retry_after="3600")

    with pytest.raises(TwilioUnavailable, match="HTTP 429"):
        reconcile_recent_calls()

    assert len(fake_twilio.requests) == 1


def test_server_errors_are_retried_with_backoff(fake_twilio):
    add_recent_calls(fake_twilio, 2)
    fake_twilio.fail_next(2, 500)

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert len(fake_twilio.requests) == 3
    assert Call.objects.count() == 2


def test_slow_answers_time_out_and_are_retried(fake_twilio, settings):
    settings.TWILIO_API_TIMEOUT = 0.2
    add_recent_calls(fake_twilio, 1)
    fake_twilio.slow_next(1, delay=0.6)

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert Call.objects.count() == 1


def test_an_outage_that_outlasts_the_retries_fails_the_run_visibly(fake_twilio, settings):
    settings.TWILIO_API_RETRIES = 2
    fake_twilio.fail_next(10, 503)

    with pytest.raises(TwilioUnavailable):
        reconcile_recent_calls()

    assert len(fake_twilio.requests) == 3
    run = ReconcileRun.objects.get()
    assert run.outcome == ReconcileRun.Outcome.FAILED
    assert "HTTP 503" in run.error_message
    assert run.finished_at is not None


def test_wrong_credentials_stop_the_run_at_the_first_answer(fake_twilio, settings):
    settings.TWILIO_API_KEY_SECRET = "not-the-secret"

    with pytest.raises(TwilioCredentialsRejected):
        reconcile_recent_calls()

    assert len(fake_twilio.requests) == 1
    run = ReconcileRun.objects.get()
    assert run.outcome == ReconcileRun.Outcome.FAILED
    assert "20003" in run.error_message


def test_run_that_crashed_midway_is_resumed_from_the_last_good_watermark(fake_twilio, settings):
    settings.RECONCILE_PAGE_SIZE = 2
    reconcile_recent_calls()
    good_watermark = ReconcileRun.objects.get().watermark
    sids = add_recent_calls(fake_twilio, 5)
    fake_twilio.outage_from_page = 1

    with pytest.raises(TwilioUnavailable):
        reconcile_recent_calls()

    crashed = ReconcileRun.objects.filter(outcome=ReconcileRun.Outcome.FAILED).get()
    assert (crashed.pages, crashed.calls_created, crashed.watermark) == (1, 2, None)
    assert Call.objects.count() == 2

    fake_twilio.outage_from_page = None
    resumed = reconcile_recent_calls()

    assert resumed.since == good_watermark - timedelta(seconds=settings.RECONCILE_OVERLAP)
    assert (resumed.calls_seen, resumed.calls_created) == (5, 3)
    assert set(Call.objects.values_list("sid", flat=True)) == set(sids)


def test_run_left_behind_by_a_dead_worker_is_replaced(fake_twilio, settings):
    dead = ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECENT)
    ReconcileRun.objects.filter(pk=dead.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.RECONCILE_LOCK_TIMEOUT + 1)
    )

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    dead.refresh_from_db()
    assert dead.outcome == ReconcileRun.Outcome.FAILED
    assert "Abandoned" in dead.error_message


def test_a_second_run_of_a_job_refuses_to_start_while_one_is_running(fake_twilio):
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECENT)

    with pytest.raises(ReconcileAlreadyRunning):
        reconcile_recent_calls()

    assert fake_twilio.requests == []


def test_runs_of_other_jobs_never_hold_a_job_back(fake_twilio):
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECORDINGS)
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.STALE)
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.SINGLE, call_sid=random_sid("CA"))
    [sid] = add_recent_calls(fake_twilio, 1)

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert Call.objects.filter(sid=sid).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_never_both_write(fake_twilio):
    sids = add_recent_calls(fake_twilio, 3)
    fake_twilio.slow_next(1, delay=1.5)
    outcomes = []

    def run_in_thread():
        try:
            outcomes.append(reconcile_recent_calls().outcome)
        except ReconcileAlreadyRunning:
            outcomes.append("refused")
        finally:
            connection.close()

    first = threading.Thread(target=run_in_thread)
    first.start()
    # The second starts while the first waits on Twilio's slow answer, holding the lock.
    while not fake_twilio.requests:
        time.sleep(0.01)
    run_in_thread()
    first.join()

    assert outcomes == ["refused", ReconcileRun.Outcome.SUCCEEDED]
    assert ReconcileRun.objects.count() == 1
    assert sorted(Call.objects.values_list("sid", flat=True)) == sorted(sids)


def test_run_declared_abandoned_stops_writing(fake_twilio, settings):
    settings.RECONCILE_PAGE_SIZE = 1
    newer_sid, _ = add_recent_calls(fake_twilio, 2)

    def abandon_after_the_first_page(calls: int) -> None:
        # What a later run does once this one has been silent for RECONCILE_LOCK_TIMEOUT.
        ReconcileRun.objects.update(outcome=ReconcileRun.Outcome.FAILED)

    with pytest.raises(ReconcileLockLost):
        reconcile_recent_calls(on_progress=abandon_after_the_first_page)

    assert list(Call.objects.values_list("sid", flat=True)) == [newer_sid]


def test_twilio_edge_and_region_in_the_environment_do_not_redirect_the_client(
    fake_twilio, monkeypatch
):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    add_recent_calls(fake_twilio, 1)

    reconcile_recent_calls()

    assert Call.objects.count() == 1
    assert twilio_rest_client().api.base_url == fake_twilio.base_url
