"""Each queue's figures and each agent's occupancy on /calls/stats/ and /api/calls/stats/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.constants import Availability, PresenceSource
from agents.models import Agent, PresenceChange
from calls.models import Disposition, FamilyDisposition
from inbound.models import CallerOutcome, QueueCaller, WrapUp
from tests.factories import AgentFactory, CallFactory, QueueFactory, UserFactory
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db

STATS_API = "/api/calls/stats/"


def waited(queue, outcome: str, seconds: int, *, agent=None, minutes_ago: int = 30):
    arrived = timezone.now() - timedelta(minutes=minutes_ago)
    ended = None if outcome == CallerOutcome.WAITING else arrived + timedelta(seconds=seconds)
    return QueueCaller.objects.create(
        call_sid=f"CA{QueueCaller.objects.count():032x}",
        queue=queue,
        arrived_at=arrived,
        outcome=outcome,
        ended_at=ended,
        wait_seconds=None if ended is None else seconds,
        agent=agent,
    )


@pytest.fixture
def analyst(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    return client


def test_a_queues_figures_count_its_callers_by_how_their_wait_ended(analyst, settings):
    settings.SERVICE_LEVEL_SECONDS = 20
    alice = AgentFactory(identity="alice")
    queue = QueueFactory(name="Support", agents=[alice])
    for seconds in [5, 10, 15, 30, 100]:
        waited(queue, CallerOutcome.ANSWERED, seconds, agent=alice)
    waited(queue, CallerOutcome.ABANDONED, 8)
    waited(queue, CallerOutcome.ABANDONED, 60)
    waited(queue, CallerOutcome.TIMED_OUT, 600)
    waited(queue, CallerOutcome.WAITING, 0)

    (figures,) = analyst.get(STATS_API).json()["queues"]

    assert figures == {
        "name": "Support",
        "offered": 9,
        "answered": 5,
        "abandoned": 2,
        "abandoned_within_target": 1,
        "median_abandon_seconds": 34.0,
        "timed_out": 1,
        "waiting": 1,
        "answered_within_target": 3,
        "service_level_seconds": 20,
        "service_level": 3 / 8,
        "median_wait_seconds": 15.0,
        "p90_wait_seconds": 100,
        "dispositions": {},
    }


def test_a_queue_counts_its_callers_by_the_disposition_of_their_call(analyst):
    alice = AgentFactory(identity="alice")
    queue = QueueFactory(name="Support", agents=[alice])
    resolved, _ = Disposition.objects.get_or_create(name="resolved")
    for given in [True, True, False]:
        caller = waited(queue, CallerOutcome.ANSWERED, 10, agent=alice)
        if given:
            FamilyDisposition.objects.create(
                call=CallFactory(sid=caller.call_sid), disposition=resolved
            )
    (figures,) = analyst.get(STATS_API).json()["queues"]
    assert figures["dispositions"] == {"resolved": 2}


def test_a_queue_counts_only_callers_who_arrived_in_the_period(analyst):
    queue = QueueFactory(name="Support")
    waited(queue, CallerOutcome.ABANDONED, 8, minutes_ago=60 * 24 * 40)
    (figures,) = analyst.get(STATS_API).json()["queues"]
    assert figures["offered"] == 0
    assert figures["service_level"] is None


def test_occupancy_is_talk_and_wrap_up_over_time_available(analyst):
    now = timezone.now()
    alice = AgentFactory(identity="alice", availability=Availability.OFFLINE)
    Agent.objects.update(created_at=now - timedelta(days=2))
    # Available from three hours ago to one hour ago.
    for before, after, hours_ago in [("offline", "available", 3), ("available", "offline", 1)]:
        PresenceChange.objects.create(
            agent=alice,
            from_availability=before,
            to_availability=after,
            changed_at=now - timedelta(hours=hours_ago),
            source=PresenceSource.API,
        )
    CallFactory(agent=alice, start_time=now - timedelta(hours=2), duration=1800)
    queue = QueueFactory(agents=[alice])
    caller = waited(queue, CallerOutcome.ANSWERED, 10, agent=alice)
    WrapUp.objects.create(
        agent=alice,
        caller=caller,
        started_at=now - timedelta(minutes=100),
        ends_at=now - timedelta(minutes=70),
    )

    (occupancy,) = analyst.get(STATS_API).json()["occupancy"]

    assert occupancy == {
        "identity": "alice",
        "available_seconds": 7200,
        "talk_seconds": 1800,
        "wrap_up_seconds": 1800,
        "occupancy": 0.5,
    }


def test_an_agent_sees_no_queue_and_only_her_own_occupancy(client):
    alice = AgentFactory(identity="alice", availability=Availability.AVAILABLE)
    AgentFactory(identity="bob", availability=Availability.AVAILABLE)
    Agent.objects.update(created_at=timezone.now() - timedelta(hours=1))
    QueueFactory(name="Support", agents=[alice])
    client.force_login(alice.user)
    data = client.get(STATS_API).json()
    assert data["queues"] == []
    assert [row["identity"] for row in data["occupancy"]] == ["alice"]


def test_the_stats_page_shows_each_queue_with_its_name_escaped(analyst):
    alice = AgentFactory(identity="alice")
    CallFactory(agent=alice, start_time=timezone.now() - timedelta(minutes=5), kind="inbound")
    queue = QueueFactory(name="<b>Support</b>")
    waited(queue, CallerOutcome.ANSWERED, 12, agent=alice)
    page = analyst.get("/calls/stats/").content.decode()
    assert "&lt;b&gt;Support&lt;/b&gt;" in page
    assert "<b>Support</b>" not in page
