"""The live board's JSON follows Twilio's signed callbacks; who sees what; stale legs."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.constants import Availability, PresenceSource
from agents.models import Agent
from calls.models import Call, ReconcileRequest, ReconcileRun
from calls.reconcile.runs import reconcile_stale_calls
from presence.availability import presence_set
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import (
    AgentFactory,
    CallFactory,
    PhoneNumberFactory,
    UserFactory,
    random_sid,
)
from tests.hub_calls import SUPPORT_LINE, HubCall
from tests.twilio_requests import deliver, post_signed, recording_callback
from twilio_fakes.scenarios import CallPlan, agent_to_agent, agent_to_pstn, pstn_to_agents
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

LIVE_API = "/api/calls/live/"
OUR_NUMBER = "+14155550100"
CUSTOMER = "+14155550199"


def plan(**changes) -> CallPlan:
    return CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "c3" * 16,
        started_at=timezone.now().replace(microsecond=0),
        **changes,
    )


@pytest.fixture
def agents():
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    PhoneNumberFactory(number=OUR_NUMBER).agents.add(alice, bob)
    return alice, bob


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(username="sue", groups=[SUPERVISORS]))
    return client


def inbound_call(**changes):
    """A customer calls our number; alice answers, bob's device is cancelled."""
    return pstn_to_agents(
        plan(**changes),
        random.Random(1),
        caller=CUSTOMER,
        number=OUR_NUMBER,
        identities=["alice", "bob"],
    )


def send(client, deliveries, *, statuses):
    for delivery in deliveries:
        if delivery.parameters["CallStatus"] in statuses:
            assert deliver(client, delivery).status_code in (200, 204)


def test_a_call_is_on_the_board_while_it_rings_talks_and_leaves_it_when_it_ends(
    client, supervisor_client, agents
):
    deliveries = inbound_call()
    parent_sid = deliveries[0].parameters["CallSid"]

    send(client, deliveries[:1], statuses={"ringing"})
    send(client, deliveries[1:-1], statuses={"initiated", "ringing"})
    ringing = supervisor_client.get(LIVE_API).json()
    send(client, deliveries[1:-1], statuses={"in-progress"})
    talking = supervisor_client.get(LIVE_API).json()
    send(client, deliveries[1:], statuses={"completed", "canceled"})
    ended = supervisor_client.get(LIVE_API).json()

    [call] = ringing["calls"]
    assert (call["sid"], call["kind"], call["from"], call["to"]) == (
        parent_sid,
        "inbound",
        CUSTOMER,
        OUR_NUMBER,
    )
    assert [(leg["agent"], leg["status"]) for leg in call["legs"]] == [
        (None, "ringing"),
        ("alice", "ringing"),
        ("bob", "ringing"),
    ]
    assert ringing["counts"]["ringing"] == 1
    [call] = talking["calls"]
    assert [(leg["agent"], leg["status"]) for leg in call["legs"][1:]] == [
        ("alice", "in-progress"),
        ("bob", "ringing"),
    ]
    assert talking["counts"] == {
        "ringing": 0,
        "in_progress": 1,
        "answered_today": 0,
        "missed_today": 0,
    }
    alice = next(agent for agent in talking["agents"] if agent["identity"] == "alice")
    assert (alice["on_call"], alice["with"]) == (True, CUSTOMER)
    assert alice["since"] is not None
    assert ended["calls"] == []
    assert ended["counts"]["answered_today"] == 1
    assert not any(agent["on_call"] for agent in ended["agents"])


def test_an_agent_calling_out_is_on_a_call_with_the_number_it_dialled(
    client, supervisor_client, agents
):
    deliveries = agent_to_pstn(
        plan(), random.Random(3), identity="bob", caller_id=OUR_NUMBER, destination=CUSTOMER
    )
    send(client, deliveries, statuses={"ringing", "initiated", "in-progress"})

    board = supervisor_client.get(LIVE_API).json()

    bob = next(agent for agent in board["agents"] if agent["identity"] == "bob")
    assert (bob["on_call"], bob["with"]) == (True, CUSTOMER)


def test_the_parent_leg_shows_in_progress_while_its_answered_child_talks(
    client, supervisor_client, agents
):
    deliveries = inbound_call()
    send(client, deliveries[:1], statuses={"ringing"})
    send(client, deliveries[1:-1], statuses={"initiated", "ringing", "in-progress"})

    [call] = supervisor_client.get(LIVE_API).json()["calls"]

    assert [(leg["agent"], leg["status"]) for leg in call["legs"]] == [
        (None, "in-progress"),
        ("alice", "in-progress"),
        ("bob", "ringing"),
    ]


def test_placeholder_legs_with_no_status_yet_are_not_counted_as_ringing(
    client, supervisor_client, agents
):
    # A recording's callback, and children that ended, each name a parent not heard from yet.
    recording = recording_callback(random_sid("CA"), random_sid("RE"), "in-progress")
    assert post_signed(client, "/twilio/recording/", recording).status_code == 204
    send(client, inbound_call()[1:-1], statuses={"completed", "canceled"})
    another_call = pstn_to_agents(
        plan(), random.Random(2), caller=CUSTOMER, number=OUR_NUMBER, identities=["bob"]
    )
    send(client, another_call[:1], statuses={"ringing"})

    board = supervisor_client.get(LIVE_API).json()

    assert len(board["calls"]) == 3
    assert (board["counts"]["ringing"], board["counts"]["in_progress"]) == (1, 0)


def test_a_call_nobody_answers_counts_as_missed(client, supervisor_client, agents):
    send(client, inbound_call(outcome="no-answer"), statuses={"ringing", "no-answer"})

    counts = supervisor_client.get(LIVE_API).json()["counts"]

    assert (counts["answered_today"], counts["missed_today"]) == (0, 1)


@pytest.mark.parametrize(
    ("make_call", "kind"),
    [
        (
            lambda: agent_to_pstn(
                plan(),
                random.Random(2),
                identity="alice",
                caller_id=OUR_NUMBER,
                destination=CUSTOMER,
            ),
            "outbound",
        ),
        (
            lambda: agent_to_agent(
                plan(), random.Random(3), identity="alice", callee_identity="bob"
            ),
            "internal",
        ),
    ],
)
def test_each_family_says_what_kind_of_call_it_is(
    client, supervisor_client, agents, make_call, kind
):
    send(client, make_call(), statuses={"ringing", "initiated"})

    [call] = supervisor_client.get(LIVE_API).json()["calls"]

    assert call["kind"] == kind


def test_the_json_has_the_documented_shape(client, supervisor_client, agents):
    send(client, inbound_call(), statuses={"ringing", "initiated"})

    data = supervisor_client.get(LIVE_API).json()

    assert set(data) == {"calls", "agents", "counts", "queues"}
    assert set(data["calls"][0]) == {
        "sid",
        "kind",
        "from",
        "to",
        "started_at",
        "legs",
        "conference",
    }
    assert set(data["calls"][0]["legs"][0]) == {"sid", "status", "agent", "to", "stale"}
    assert set(data["agents"][0]) == {
        "identity",
        "availability",
        "on_call",
        "with",
        "since",
        "wrap_up_until",
    }


def test_a_call_not_answered_yet_has_no_conference(client, supervisor_client, agents):
    send(client, inbound_call(), statuses={"ringing", "initiated"})

    [call] = supervisor_client.get(LIVE_API).json()["calls"]

    assert call["conference"] is None


def test_a_call_answered_in_the_conference_hub_names_its_conference(
    client, fake_twilio, celery_in_process
):
    PhoneNumberFactory(number=SUPPORT_LINE).agents.add(
        AgentFactory(identity="alice", availability=Availability.AVAILABLE)
    )
    hub_call = HubCall(client, fake_twilio)
    hub_call.answered_by("alice")
    client.force_login(UserFactory(groups=[SUPERVISORS]))

    [call] = client.get(LIVE_API).json()["calls"]

    assert call["conference"] == hub_call.name


@pytest.mark.parametrize(("role", "may_listen"), [(SUPERVISORS, True), (ANALYSTS, False)])
def test_only_those_who_may_monitor_calls_get_the_listen_in_buttons(client, role, may_listen):
    client.force_login(UserFactory(groups=[role]))

    page = client.get("/calls/live/").content.decode()

    assert ("data-monitor-url" in page) is may_listen
    assert ("Listen in</th>" in page) is may_listen


def test_an_unchanged_board_answers_304_to_its_etag(client, supervisor_client, agents):
    send(client, inbound_call(), statuses={"ringing"})
    first = supervisor_client.get(LIVE_API)

    again = supervisor_client.get(LIVE_API, headers={"If-None-Match": first["ETag"]})
    send(client, inbound_call(), statuses={"in-progress"})
    changed = supervisor_client.get(LIVE_API, headers={"If-None-Match": first["ETag"]})

    assert (again.status_code, again.content) == (304, b"")
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


@pytest.mark.parametrize("role", [SUPERVISORS, ANALYSTS])
def test_supervisors_and_analysts_see_every_call_and_agent(client, agents, role):
    send(client, inbound_call(), statuses={"ringing", "initiated"})
    CallFactory(status="ringing", from_number=CUSTOMER, to_number="+14155550111")
    client.force_login(UserFactory(groups=[role]))

    data = client.get(LIVE_API).json()

    assert len(data["calls"]) == 2
    assert [agent["identity"] for agent in data["agents"]] == ["alice", "bob"]


def test_an_agent_sees_only_its_own_calls_and_itself(client, agents):
    alice, _ = agents
    send(client, inbound_call(), statuses={"ringing", "initiated"})
    CallFactory(status="ringing", from_number=CUSTOMER, to_number="+14155550111")
    client.force_login(alice.user)

    data = client.get(LIVE_API).json()
    page = client.get("/calls/live/")

    assert len(data["calls"]) == 1
    assert [agent["identity"] for agent in data["agents"]] == ["alice"]
    assert page.status_code == 200


def test_someone_without_a_role_is_refused(client):
    client.force_login(UserFactory())

    assert client.get(LIVE_API).status_code == 403
    assert client.get("/calls/live/").status_code == 302


def test_without_a_login_the_api_answers_401_and_the_page_sends_to_login(client):
    assert client.get(LIVE_API).status_code == 401
    assert client.get("/calls/live/")["Location"].startswith("/login/")


def make_available_or_away(availabilities: dict, *, at=None) -> None:
    """Set agents' availability as a supervisor does in the admin (it does not lapse), as if
    set `at` that time."""
    for agent, availability in availabilities.items():
        presence_set(
            agent=agent,
            availability=availability,
            source=PresenceSource.ADMIN,
            changed_by=None,
            heartbeat=False,
        )
        if at is not None:
            Agent.objects.filter(pk=agent.pk).update(availability_since=at)


def test_each_agent_shows_its_availability_and_since_when(supervisor_client):
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    changed_at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    make_available_or_away({alice: Availability.AVAILABLE, bob: Availability.AWAY}, at=changed_at)

    agents = supervisor_client.get(LIVE_API).json()["agents"]

    assert [(agent["identity"], agent["availability"], agent["on_call"]) for agent in agents] == [
        ("alice", "available", False),
        ("bob", "away", False),
    ]
    assert {agent["since"] for agent in agents} == {changed_at.isoformat().replace("+00:00", "Z")}


def test_inactive_agents_are_not_listed(supervisor_client):
    AgentFactory(identity="gone", is_active=False)
    AgentFactory(identity="here")

    agents = supervisor_client.get(LIVE_API).json()["agents"]

    assert [agent["identity"] for agent in agents] == ["here"]


def silent_leg(*, seconds, **fields):
    """A leg nothing has touched for this many seconds."""
    leg = CallFactory(**fields)
    Call.objects.filter(pk=leg.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))
    return leg


def test_a_silent_leg_is_flagged_and_the_stale_sweep_takes_it_off_the_board(
    supervisor_client, settings, fake_twilio
):
    settings.RECONCILE_STALE_AFTER = 600
    stale = silent_leg(seconds=601, status="in-progress")
    fresh = silent_leg(seconds=30, status="in-progress")
    fake_twilio.add_call(stale.sid, start_time=timezone.now() - timedelta(minutes=15))

    first = supervisor_client.get(LIVE_API).json()
    reconcile_stale_calls()

    stale_flags = {call["sid"]: call["legs"][0]["stale"] for call in first["calls"]}
    assert stale_flags == {stale.sid: True, fresh.sid: False}
    assert supervisor_client.get(LIVE_API).json()["calls"] == [
        call for call in first["calls"] if call["sid"] == fresh.sid
    ]


def test_reading_the_board_queues_and_asks_nothing(
    supervisor_client, settings, fake_twilio, django_capture_on_commit_callbacks
):
    settings.RECONCILE_STALE_AFTER = 600
    silent_leg(seconds=601, status="in-progress")

    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(3):
            assert supervisor_client.get(LIVE_API).status_code == 200

    assert callbacks == []
    assert not ReconcileRequest.objects.exists()
    assert not ReconcileRun.objects.exists()
    assert fake_twilio.requests == []


def test_a_leg_twilio_confirmed_live_is_not_stale(supervisor_client, settings, fake_twilio):
    settings.RECONCILE_STALE_AFTER = 600
    talking = silent_leg(seconds=601, status="in-progress")
    fake_twilio.add_call(talking.sid, status="in-progress", start_time=timezone.now())

    reconcile_stale_calls()

    [call] = supervisor_client.get(LIVE_API).json()["calls"]
    assert call["legs"][0]["stale"] is False


@pytest.mark.django_db(transaction=True)
def test_the_board_answers_while_redis_is_unreachable(supervisor_client, settings, redis_down):
    settings.RECONCILE_STALE_AFTER = 600
    stale = silent_leg(seconds=601, status="in-progress")

    response = supervisor_client.get(LIVE_API)

    assert response.status_code == 200
    assert response.json()["calls"][0]["legs"][0] == {
        "sid": stale.sid,
        "status": "in-progress",
        "agent": None,
        "to": stale.to_number,
        "stale": True,
    }
