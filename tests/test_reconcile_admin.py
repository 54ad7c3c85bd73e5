from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Call, ReconcileRun
from tests.factories import CallFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_call_list_finds_a_leg_by_number(supervisor_client):
    wanted = CallFactory(from_number="+14155550123")
    CallFactory(from_number="+14155550999")

    response = supervisor_client.get(reverse("admin:calls_call_changelist"), {"q": "550123"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_calls_are_read_only_in_the_admin(supervisor_client):
    call = CallFactory()

    change = supervisor_client.post(reverse("admin:calls_call_change", args=[call.pk]), {})
    add = supervisor_client.get(reverse("admin:calls_call_add"))

    assert change.status_code == 403
    assert add.status_code == 403


def test_admin_action_reconciles_the_selected_call(
    supervisor_client, fake_twilio, celery_in_process
):
    call = CallFactory(status="ringing", duration=None)
    started = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    fake_twilio.add_call(
        call.sid, start_time=started, end_time=started + timedelta(seconds=9), duration=9
    )

    response = supervisor_client.post(
        reverse("admin:calls_call_changelist"),
        {"action": "reconcile_with_twilio", "_selected_action": [call.pk]},
        follow=True,
    )

    assert "Asked Twilio about 1 call(s)" in response.content.decode()
    call.refresh_from_db()
    assert (call.status, call.duration) == ("completed", 9)
    run = ReconcileRun.objects.get()
    assert (run.kind, run.call_sid, run.outcome) == ("single", call.sid, "succeeded")


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
