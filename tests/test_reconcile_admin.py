import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from calls import tasks
from calls.models import Call, ReconcileRequest, ReconcileRun
from tests.factories import CallFactory, UserFactory
from voiceproject.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_call_list_finds_a_leg_by_number_as_people_type_it(supervisor_client):
    wanted = CallFactory(from_number="+14155550123")
    CallFactory(from_number="+14155550999")

    response = supervisor_client.get(
        reverse("admin:calls_call_changelist"), {"q": "(415) 555-0123"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_calls_are_read_only_in_the_admin(supervisor_client):
    call = CallFactory()

    change = supervisor_client.post(reverse("admin:calls_call_change", args=[call.pk]), {})
    add = supervisor_client.get(reverse("admin:calls_call_add"))

    assert change.status_code == 403
    assert add.status_code == 403


def reconcile_action(client, *calls):
    return client.post(
        reverse("admin:calls_call_changelist"),
        {"action": "reconcile_with_twilio", "_selected_action": [call.pk for call in calls]},
        follow=True,
    )


def test_admin_action_without_a_worker_reconciles_the_selected_call_and_says_so(
    supervisor_client, fake_twilio, celery_in_process
):
    call = CallFactory(status="ringing", duration=None)
    started = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    fake_twilio.add_call(
        call.sid, start_time=started, end_time=started + timedelta(seconds=9), duration=9
    )

    response = reconcile_action(supervisor_client, call)

    assert "Reconciled 1 call(s) here (no worker configured); 0 failed." in (
        response.content.decode()
    )
    call.refresh_from_db()
    assert (call.status, call.duration) == ("completed", 9)
    run = ReconcileRun.objects.get()
    assert (run.kind, run.call_sid, run.outcome) == ("single", call.sid, "succeeded")


def test_admin_action_without_a_worker_reports_a_failed_run_as_failed(
    supervisor_client, fake_twilio, celery_in_process
):
    unknown_to_twilio = CallFactory(status="ringing")

    response = reconcile_action(supervisor_client, unknown_to_twilio)

    messages = [str(message) for message in response.context["messages"]]
    assert any("1 failed" in message for message in messages)
    run = ReconcileRun.objects.get()
    assert run.outcome == "failed"
    page = supervisor_client.get(reverse("admin:calls_reconcilerun_change", args=[run.pk]))
    assert "failed" in page.content.decode()
    assert "404" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_admin_action_queues_to_the_worker_and_the_run_page_shows_the_outcome(
    fake_twilio, celery_on_redis, client
):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    call = CallFactory(status="ringing", duration=None)
    fake_twilio.add_call(call.sid, start_time=timezone.now() - timedelta(hours=1), duration=4)

    response = reconcile_action(client, call)

    assert "Queued 1 call(s) for reconciliation with Twilio." in response.content.decode()
    run = wait_for_run(call.sid)
    page = client.get(reverse("admin:calls_reconcilerun_change", args=[run.pk]))
    assert run.outcome == "succeeded"
    assert "succeeded" in page.content.decode()
    assert Call.objects.get(pk=call.pk).status == "completed"


def wait_for_run(sid: str) -> ReconcileRun:
    """The run of this call, once the worker has finished it (a bound, not a timing: a busy
    machine's worker may take a while to take the task)."""
    deadline = time.monotonic() + 60
    # Only this call's run: the worker listens on a Redis queue other tests may share.
    runs = ReconcileRun.objects.filter(call_sid=sid)
    while not runs.exclude(outcome="running").exists():
        assert time.monotonic() < deadline, "the worker never finished the run"
        time.sleep(0.05)
    return runs.get()


@pytest.mark.django_db(transaction=True)
def test_admin_action_while_redis_is_unreachable_loses_nothing(fake_twilio, redis_down, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    call = CallFactory(status="ringing", duration=None)
    fake_twilio.add_call(call.sid, start_time=timezone.now() - timedelta(hours=1), duration=4)

    started = time.monotonic()
    response = reconcile_action(client, call)

    assert time.monotonic() - started < 3  # kombu alone would retry the connection for 6 s
    assert response.status_code == 200
    assert "The task queue (Redis) is unreachable: 1 call(s) are recorded" in (
        response.content.decode()
    )
    assert ReconcileRequest.objects.get().sent_at is None
    waiting = client.get(reverse("admin:calls_reconcilerequest_changelist"))
    assert call.sid in waiting.content.decode()
    redis_down.start()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        tasks.reconcile_requests_send.delay()  # what beat sends every minute
        run = wait_for_run(call.sid)
    assert run.outcome == "succeeded"
    assert Call.objects.get(pk=call.pk).status == "completed"
    assert not ReconcileRequest.objects.exists()


def test_a_call_already_waiting_is_not_requested_twice(supervisor_client, redis_down):
    call = CallFactory(status="ringing")

    reconcile_action(supervisor_client, call)
    response = reconcile_action(supervisor_client, call)

    assert "1 already waiting were not queued again." in response.content.decode()
    assert ReconcileRequest.objects.count() == 1


def test_the_runs_list_warns_of_a_scheduled_job_that_has_not_completed_lately(
    supervisor_client, settings
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    settings.RECONCILE_INTERVAL = 300
    ReconcileRun.objects.create(
        kind=ReconcileRun.Kind.RECENT,
        outcome=ReconcileRun.Outcome.SUCCEEDED,
        finished_at=timezone.now() - timedelta(minutes=16),
    )

    response = supervisor_client.get(reverse("admin:calls_reconcilerun_changelist"))

    messages = [str(message) for message in response.context["messages"]]
    assert any(
        message.startswith("Recent reconciliation (every 300 s) has not completed since")
        for message in messages
    )


def test_failed_runs_are_listed_with_their_error(supervisor_client):
    ReconcileRun.objects.create(
        kind=ReconcileRun.Kind.RECENT,
        outcome=ReconcileRun.Outcome.FAILED,
        error_message="TwilioCredentialsRejected: Twilio refused the credentials",
    )

    response = supervisor_client.get(
        reverse("admin:calls_reconcilerun_changelist"), {"outcome__exact": "failed"}
    )

    assert response.status_code == 200
    assert "Twilio refused the credentials" in response.content.decode()


def test_call_list_queries_stay_flat_with_many_legs(
    supervisor_client, django_assert_max_num_queries
):
    parent = CallFactory()
    CallFactory.create_batch(20, parent=parent)
    assert Call.objects.count() == 21

    with django_assert_max_num_queries(8):
        supervisor_client.get(reverse("admin:calls_call_changelist"))
