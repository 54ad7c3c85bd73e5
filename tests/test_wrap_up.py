"""An agent's wrap-up after a queue call: shown in her presence, ended early or extended."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.constants import Availability
from inbound.models import CallerOutcome, QueueCaller, WrapUp
from presence.selectors import agent_directory, agents_free_to_take_a_call
from tests.factories import AgentFactory, QueueFactory

pytestmark = pytest.mark.django_db

PRESENCE = "/api/presence/"
WRAP_UP = "/api/presence/wrap-up/"


@pytest.fixture
def alice():
    return AgentFactory(identity="alice", availability=Availability.AVAILABLE)


@pytest.fixture
def as_alice(alice) -> APIClient:
    client = APIClient()
    client.force_login(alice.user)
    return client


def wrapping_up(agent, *, seconds: int = 60) -> WrapUp:
    now = timezone.now()
    queue = QueueFactory(agents=[agent])
    caller = QueueCaller.objects.create(
        call_sid="CA" + "1" * 32,
        queue=queue,
        arrived_at=now - timedelta(minutes=3),
        outcome=CallerOutcome.ANSWERED,
        ended_at=now - timedelta(minutes=2),
        wait_seconds=60,
        agent=agent,
    )
    return WrapUp.objects.create(
        agent=agent, caller=caller, started_at=now, ends_at=now + timedelta(seconds=seconds)
    )


def test_an_agent_in_wrap_up_sees_when_it_ends(as_alice, alice):
    wrap_up = wrapping_up(alice)
    answer = as_alice.get(PRESENCE).json()
    assert answer["wrap_up_until"] == wrap_up.ends_at.isoformat().replace("+00:00", "Z")


def test_an_agent_in_wrap_up_takes_no_call(alice):
    wrapping_up(alice)
    assert not agents_free_to_take_a_call(alice.__class__.objects.all(), now=timezone.now())


def test_the_directory_tells_colleagues_she_is_wrapping_up(alice):
    wrapping_up(alice)
    assert agent_directory(now=timezone.now()).get().in_wrap_up


def test_an_agent_ends_her_wrap_up_early(as_alice, alice):
    wrapping_up(alice)
    answer = as_alice.post(WRAP_UP, {"action": "end"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["wrap_up_until"] is None
    assert agents_free_to_take_a_call(alice.__class__.objects.all(), now=timezone.now()).exists()


def test_an_agent_extends_her_wrap_up(as_alice, alice):
    wrap_up = wrapping_up(alice, seconds=30)
    answer = as_alice.post(WRAP_UP, {"action": "extend", "seconds": 120}, format="json")
    assert answer.status_code == 200
    wrap_up.refresh_from_db()
    assert answer.json()["wrap_up_until"] == wrap_up.ends_at.isoformat().replace("+00:00", "Z")
    assert wrap_up.ends_at - wrap_up.started_at == timedelta(seconds=150)


def test_extending_without_a_wrap_up_changes_nothing(as_alice):
    answer = as_alice.post(WRAP_UP, {"action": "extend"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["wrap_up_until"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"action": "pause"},
        {"action": "extend", "seconds": 0},
        {"action": "extend", "seconds": "x"},
        {},
    ],
)
def test_a_malformed_wrap_up_change_is_refused_with_400(as_alice, body):
    assert as_alice.post(WRAP_UP, body, format="json").status_code == 400


def test_a_user_who_is_not_an_agent_has_no_wrap_up(client, django_user_model):
    user = django_user_model.objects.create_user("carol", password="x")
    api = APIClient()
    api.force_login(user)
    assert api.post(WRAP_UP, {"action": "end"}, format="json").status_code == 403
