"""The presence API: an agent's own availability, its lapse, and the agents' directory."""

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from agents.constants import Availability, PresenceSource
from agents.models import PresenceChange
from presence.tasks import presence_lapse_silent_softphones
from tests.factories import AgentFactory, CallFactory, UserFactory, api_token_header
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

PRESENCE = "/api/presence/"


@pytest.fixture
def alice():
    return AgentFactory(identity="alice")


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=api_token_header(user)["Authorization"])
    return client


@pytest.fixture(params=[session_client, token_client], ids=["session", "api-token"])
def as_alice(request, alice) -> APIClient:
    return request.param(alice.user)


def test_a_new_agent_is_offline_and_not_on_a_call(as_alice, alice):
    answer = as_alice.get(PRESENCE)
    assert answer.status_code == 200
    assert answer.json() == {
        "identity": "alice",
        "availability": "offline",
        "on_call": False,
        "since": alice.availability_since.isoformat().replace("+00:00", "Z"),
        "wrap_up_until": None,
    }


def test_an_agent_sets_its_availability_and_the_change_is_recorded(as_alice, alice):
    answer = as_alice.put(PRESENCE, {"availability": "available"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["availability"] == "available"
    assert as_alice.get(PRESENCE).json()["availability"] == "available"
    change = PresenceChange.objects.get()
    assert (change.agent, change.from_availability, change.to_availability) == (
        alice,
        Availability.OFFLINE,
        Availability.AVAILABLE,
    )
    assert (change.source, change.changed_by) == (PresenceSource.API, alice.user)


def test_setting_the_same_availability_again_records_nothing(as_alice):
    as_alice.put(PRESENCE, {"availability": "away"}, format="json")
    since = as_alice.get(PRESENCE).json()["since"]
    as_alice.put(PRESENCE, {"availability": "away"}, format="json")
    assert PresenceChange.objects.count() == 1
    assert as_alice.get(PRESENCE).json()["since"] == since


@pytest.mark.parametrize("body", [{"availability": "busy"}, {"availability": ""}, {}])
def test_an_unknown_availability_is_refused_with_400(as_alice, body):
    answer = as_alice.put(PRESENCE, body, format="json")
    assert answer.status_code == 400
    assert "availability" in answer.json()
    assert PresenceChange.objects.count() == 0


def test_an_agent_on_an_in_progress_leg_is_on_a_call(as_alice, alice):
    CallFactory(agent=alice, status="in-progress")
    assert as_alice.get(PRESENCE).json()["on_call"] is True


def test_a_leg_silent_for_too_long_is_not_a_call(as_alice, alice, settings):
    settings.ON_CALL_MAX_SILENCE = 600
    leg = CallFactory(agent=alice, status="in-progress")
    type(leg).objects.filter(pk=leg.pk).update(updated_at=timezone.now() - timedelta(seconds=601))
    assert as_alice.get(PRESENCE).json()["on_call"] is False


def test_anonymous_is_refused_with_401():
    assert APIClient().get(PRESENCE).status_code == 401
    assert APIClient().put(PRESENCE, {"availability": "away"}).status_code == 401


def test_a_user_without_an_agent_is_refused_with_403():
    answer = session_client(UserFactory()).get(PRESENCE)
    assert answer.status_code == 403
    assert "not an agent" in answer.json()["detail"]


def test_an_inactive_agent_is_refused_with_403():
    agent = AgentFactory(identity="dormant", is_active=False)
    answer = session_client(agent.user).put(PRESENCE, {"availability": "available"})
    assert answer.status_code == 403
    assert (
        answer.json()["detail"] == "The agent 'dormant' is inactive, so it cannot have a presence."
    )


def test_availability_kept_by_heartbeats_lapses_to_offline_without_them(as_alice, settings):
    settings.PRESENCE_TIMEOUT = 60
    as_alice.put(PRESENCE, {"availability": "available", "heartbeat": True}, format="json")
    set_at = PresenceChange.objects.get().changed_at

    PresenceChange.objects.update(changed_at=set_at - timedelta(seconds=59))
    type(PresenceChange.objects.get().agent).objects.update(
        heartbeat_at=set_at - timedelta(seconds=59)
    )
    assert as_alice.get(PRESENCE).json()["availability"] == "available"

    type(PresenceChange.objects.get().agent).objects.update(
        heartbeat_at=set_at - timedelta(seconds=61)
    )
    answer = as_alice.get(PRESENCE).json()
    assert answer["availability"] == "offline"
    assert answer["since"] == (set_at - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")


def test_the_lapse_is_stored_as_a_change_made_by_the_timeout(alice, settings, celery_in_process):
    settings.PRESENCE_TIMEOUT = 60
    client = session_client(alice.user)
    client.put(PRESENCE, {"availability": "available", "heartbeat": True}, format="json")
    beat = timezone.now() - timedelta(seconds=61)
    type(alice).objects.update(heartbeat_at=beat)

    assert presence_lapse_silent_softphones.delay().get() == 1

    lapse = PresenceChange.objects.order_by("-id").first()
    assert (lapse.from_availability, lapse.to_availability) == ("available", "offline")
    assert (lapse.source, lapse.changed_by, lapse.changed_at) == (
        PresenceSource.TIMEOUT,
        None,
        beat + timedelta(seconds=60),
    )
    assert presence_lapse_silent_softphones.delay().get() == 0


def test_beat_schedules_the_lapse_by_the_name_the_worker_registers_it_under(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["presence-lapse-silent-softphones"]
    assert entry["task"] == presence_lapse_silent_softphones.name


def test_availability_a_mobile_app_sets_does_not_lapse(as_alice, settings, celery_in_process):
    settings.PRESENCE_TIMEOUT = 60
    as_alice.put(PRESENCE, {"availability": "available"}, format="json")
    type(PresenceChange.objects.get().agent).objects.update(
        availability_since=timezone.now() - timedelta(days=1)
    )
    assert as_alice.get(PRESENCE).json()["availability"] == "available"
    assert presence_lapse_silent_softphones.delay().get() == 0


def test_the_page_closing_says_offline_with_a_beacon(alice):
    """navigator.sendBeacon posts a form, with the CSRF token as a field."""
    client = session_client(alice.user)
    client.put(PRESENCE, {"availability": "available", "heartbeat": True}, format="json")
    client.handler.enforce_csrf_checks = True
    csrf_token = client.get("/phone/").context["config"]["csrfToken"]
    answer = client.post(
        PRESENCE,
        {"availability": "offline", "heartbeat": "true", "csrfmiddlewaretoken": csrf_token},
    )
    assert answer.status_code == 200
    assert answer.json()["availability"] == "offline"


def test_a_beacon_without_the_csrf_token_is_refused(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice.user)
    answer = client.post(PRESENCE, {"availability": "offline"})
    assert answer.status_code == 403


# The directory


@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_are_stored_in_the_order_they_took_effect(live_server, alice):
    headers = api_token_header(alice.user)
    availabilities = [Availability.AVAILABLE, Availability.AWAY] * 20

    def put(availability):
        body = {"availability": availability}
        return requests.put(live_server.url + PRESENCE, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert {answer.status_code for answer in pool.map(put, availabilities)} == {200}

    changes = list(PresenceChange.objects.filter(agent=alice).order_by("id"))
    assert len(changes) > 1
    for earlier, later in itertools.pairwise(changes):
        assert later.from_availability == earlier.to_availability
        assert later.changed_at >= earlier.changed_at
    alice.refresh_from_db()
    assert alice.availability_since == changes[-1].changed_at


def test_agents_see_each_active_colleagues_presence(as_alice):
    bob_user = UserFactory(first_name="Bob", last_name="Brown")
    bob = AgentFactory(identity="bob", user=bob_user, availability=Availability.AVAILABLE)
    CallFactory(agent=bob, status="in-progress")
    AgentFactory(identity="carol", availability=Availability.AWAY)
    AgentFactory(identity="gone", is_active=False)
    answer = as_alice.get("/api/agents/")
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "identity": "alice",
            "display_name": "alice",
            "availability": "offline",
            "on_call": False,
            "in_wrap_up": False,
        },
        {
            "identity": "bob",
            "display_name": "Bob Brown",
            "availability": "available",
            "on_call": True,
            "in_wrap_up": False,
        },
        {
            "identity": "carol",
            "display_name": "carol",
            "availability": "away",
            "on_call": False,
            "in_wrap_up": False,
        },
    ]


def test_supervisors_see_the_directory():
    AgentFactory(identity="alice")
    answer = session_client(UserFactory(groups=[SUPERVISORS])).get("/api/agents/")
    assert [agent["identity"] for agent in answer.json()] == ["alice"]


@pytest.mark.parametrize("groups", [[], [ANALYSTS]])
def test_users_who_are_neither_agents_nor_supervisors_are_refused(groups):
    answer = session_client(UserFactory(groups=groups)).get("/api/agents/")
    assert answer.status_code == 403


def test_the_directory_refuses_anonymous_with_401():
    assert APIClient().get("/api/agents/").status_code == 401
