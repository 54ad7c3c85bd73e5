"""What an analyst asks the call log: missed calls, answer rates, strict filters, times."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.call_log_data import START, call_family, callback
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.factories import UserFactory
from tests.twilio_requests import replay
from twilio_fakes.scenarios import CallPlan, agent_to_agent, agent_to_pstn, pstn_to_agents
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db

CUSTOMER = "+12125550123"
DAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = {"started_after": "2026-11-01", "started_before": "2026-11-30"}


@pytest.fixture
def analyst(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    return client


def call_plan(minute: int, outcome: str = "completed", ring_seconds: int = 5) -> CallPlan:
    return CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        started_at=DAY + timedelta(minutes=minute),
        outcome=outcome,
        ring_seconds=ring_seconds,
        talk_seconds=60,
    )


@pytest.fixture
def hand_counted_day(client, agents, settings):
    """Six calls on one day, counted by hand below.

    A: a customer, ring-all alice then bob, alice answers after 7 s.
    B: a customer, ring-all bob then alice, bob answers after 27 s: alice's colleague.
    C: a customer, ring-all, nobody answers: a miss for both.
    F: a customer, only alice rings, she answers after 7 s.
    D: alice calls a customer out; E: bob calls alice, who answers. Neither is inbound.
    """
    settings.SERVICE_LEVEL_SECONDS = 20
    rng = random.Random(12)
    replay(client, pstn_to_agents(call_plan(0), rng, caller=CUSTOMER, number=SUPPORT_LINE,
                                  identities=["alice", "bob"]))  # fmt: skip
    replay(client, pstn_to_agents(call_plan(10, ring_seconds=25), rng, caller=CUSTOMER,
                                  number=SUPPORT_LINE, identities=["bob", "alice"]))  # fmt: skip
    replay(client, pstn_to_agents(call_plan(20, "no-answer"), rng, caller=CUSTOMER,
                                  number=SUPPORT_LINE, identities=["alice", "bob"]))  # fmt: skip
    replay(client, pstn_to_agents(call_plan(30), rng, caller=CUSTOMER, number=SUPPORT_LINE,
                                  identities=["alice"]))  # fmt: skip
    replay(client, agent_to_pstn(call_plan(40), rng, identity="alice", caller_id=SUPPORT_LINE,
                                 destination=CUSTOMER))  # fmt: skip
    replay(client, agent_to_agent(call_plan(50), rng, identity="bob", callee_identity="alice"))


def agent_rows(stats):
    return {
        agent.identity: (
            agent.offered,
            agent.answered,
            agent.answered_by_colleague,
            agent.missed,
            agent.answer_rate,
            agent.median_answer_seconds,
            agent.talk_seconds,
        )
        for agent in stats.agents
    }


@pytest.mark.usefixtures("hand_counted_day")
def test_answer_rates_leave_out_calls_a_colleague_answered_first(analyst):
    response = analyst.get("/calls/stats/", PERIOD)

    assert response.status_code == 200
    assert agent_rows(response.context["stats"]) == {
        "alice": (4, 2, 1, 1, 2 / 3, 7.0, 120),
        "bob": (3, 1, 1, 1, 0.5, 27.0, 60),
    }


@pytest.mark.usefixtures("hand_counted_day")
def test_team_service_level_abandon_rate_and_volumes_by_kind(analyst):
    stats = analyst.get("/calls/stats/", PERIOD).context["stats"]

    team = stats.team
    assert (team.inbound, team.answered, team.answered_within_target, team.abandoned) == (
        4,
        3,
        2,
        1,
    )
    assert (team.service_level, team.abandon_rate) == (0.5, 0.25)
    assert stats.per_day[DAY.date()] == {"inbound": 4, "outbound": 1, "internal": 1}
    assert stats.per_hour[9] == {"inbound": 4, "outbound": 1, "internal": 1}
    assert stats.kinds == ["inbound", "outbound", "internal"]


@pytest.mark.usefixtures("hand_counted_day")
def test_stats_api_gives_the_same_figures(analyst):
    body = analyst.get("/api/calls/stats/", PERIOD).json()

    assert body["team"]["service_level"] == 0.5
    assert body["team"]["abandon_rate"] == 0.25
    alice = next(agent for agent in body["agents"] if agent["identity"] == "alice")
    assert (alice["offered"], alice["answered"], alice["answered_by_colleague"]) == (4, 2, 1)
    assert alice["missed"] == 1
    assert alice["answer_rate"] == pytest.approx(2 / 3)
    # A bar for each day asked for, the calls on the day they were made.
    assert len(body["per_day"]) == 30
    assert body["per_day"][1] == {
        "period": "2026-11-02",
        "calls": {"inbound": 4, "outbound": 1, "internal": 1},
    }


@pytest.mark.usefixtures("hand_counted_day")
def test_an_agent_sees_only_her_own_figures(client, agents):
    alice, _ = agents
    client.force_login(alice.user)

    page = client.get("/calls/stats/", PERIOD)
    api = client.get("/api/calls/stats/", PERIOD).json()

    assert list(agent_rows(page.context["stats"])) == ["alice"]
    assert [agent["identity"] for agent in api["agents"]] == ["alice"]


@pytest.mark.usefixtures("hand_counted_day")
@pytest.mark.parametrize("agent_index", [0, 1])
def test_an_agents_own_figures_equal_the_analysts_figures_for_her(client, agents, agent_index):
    agent = agents[agent_index]
    client.force_login(UserFactory(groups=[ANALYSTS]))
    analysts = agent_rows(client.get("/calls/stats/", PERIOD).context["stats"])
    client.force_login(agent.user)

    page = client.get("/calls/stats/", PERIOD).context["stats"]
    api = client.get("/api/calls/stats/", PERIOD).json()

    assert agent_rows(page) == {agent.identity: analysts[agent.identity]}
    [own] = api["agents"]
    assert (own["offered"], own["answered"], own["missed"], own["talk_seconds"]) == (
        analysts[agent.identity][0],
        analysts[agent.identity][1],
        analysts[agent.identity][3],
        analysts[agent.identity][6],
    )


@pytest.mark.usefixtures("hand_counted_day")
def test_missed_calls_are_inbound_calls_nobody_answered(analyst):
    response = analyst.get("/api/calls/", {"kind": "inbound", "outcome": "unanswered"})

    [missed] = response.json()["results"]
    assert (missed["kind"], missed["outcome"], missed["answered_by"]) == (
        "inbound",
        "unanswered",
        None,
    )
    assert {child["agent"] for child in missed["children"]} == {"alice", "bob"}


@pytest.mark.usefixtures("hand_counted_day")
def test_an_agents_missed_calls_are_those_that_rang_her_and_nobody_answered(analyst):
    response = analyst.get(
        "/calls/", {"agent": "alice", "kind": "inbound", "outcome": "unanswered"}
    )

    [family] = response.context["page"].families
    # Call C; its parent's start is known from its final callback, to the second.
    assert timedelta(minutes=20) <= family.parent.start_time - DAY < timedelta(minutes=21)


@pytest.mark.usefixtures("hand_counted_day")
def test_answered_by_lists_the_calls_an_agent_answered(analyst):
    response = analyst.get("/calls/", {"answered_by": "alice"})

    starts = [family.parent.start_time for family in response.context["page"].families]
    assert starts == [DAY + timedelta(minutes=minute) for minute in (50, 30, 0)]


@pytest.mark.usefixtures("hand_counted_day")
def test_kind_filter_tells_a_softphones_call_out_from_a_customers_call_in(analyst):
    outbound = analyst.get("/api/calls/", {"kind": "outbound"}).json()["results"]
    inbound_legs = analyst.get("/api/calls/", {"direction": "inbound"}).json()["results"]

    assert [(family["direction"], family["from_number"]) for family in outbound] == [
        ("inbound", "client:alice")
    ]
    assert len(inbound_legs) == 6  # Twilio's direction of every parent leg


@pytest.mark.usefixtures("hand_counted_day")
def test_csv_rows_carry_the_family_kind_outcome_and_iso_times_with_offset(analyst, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes the CSV's times in UTC (+00:00), not in TIME_ZONE")
    settings.TIME_ZONE = "Europe/Paris"
    response = analyst.get("/calls/export.csv", {"kind": "outbound"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["kind"], row["outcome"]) for row in rows] == [("outbound", "answered")] * 2
    assert rows[0]["start_time"] == "2026-11-02T10:40:00+01:00"


# Every filter's bad value, and the field it is reported under.
BAD_FILTERS = [
    ({"started_after": "2026-13-45"}, "started"),
    ({"started_after": "2026-11-30", "started_before": "2026-11-01"}, "started"),
    ({"agent": "nobody"}, "agent"),
    ({"answered_by": "nobody"}, "answered_by"),
    ({"status": "bogus"}, "status"),
    ({"direction": "sideways"}, "direction"),
    ({"kind": "bogus"}, "kind"),
    ({"outcome": "bogus"}, "outcome"),
    ({"sort": "bogus"}, "sort"),
    ({"number": "call me maybe"}, "number"),
    ({"number": "client:not an identity"}, "number"),
    ({"sid": "CA123"}, "sid"),
]


@pytest.mark.parametrize(("query", "field"), BAD_FILTERS)
def test_a_bad_filter_is_refused_with_400_by_the_csv_export(analyst, query, field):
    call_family()

    response = analyst.get("/calls/export.csv", query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(("query", "field"), BAD_FILTERS)
@pytest.mark.parametrize("path", ["/api/calls/", "/api/calls/stats/"])
def test_a_bad_filter_is_refused_with_400_by_the_api(analyst, path, query, field):
    call_family()

    response = analyst.get(path, query)

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(("query", "field"), BAD_FILTERS)
@pytest.mark.parametrize("path", ["/calls/", "/calls/stats/"])
def test_a_bad_filter_is_shown_on_the_pages_which_list_nothing(analyst, path, query, field):
    call_family()

    response = analyst.get(path, query)

    assert response.status_code == 200
    assert field in response.context["filters"].refused
    body = response.content.decode()
    assert 'class="field-error"' in body or field == "sort"
    assert "until the filters above are fixed" in body
    if path == "/calls/":
        assert response.context["page"].families == []


def test_a_reversed_date_range_says_so(analyst):
    response = analyst.get(
        "/api/calls/", {"started_after": "2026-11-30", "started_before": "2026-11-01"}
    )

    assert response.json() == {"started": ["The start date is after the end date."]}


@pytest.mark.parametrize("written", ["(212) 555-0123", "212-555-0123", "+1 212 555 0123"])
def test_number_filter_reads_national_and_spaced_formats(analyst, written):
    family = call_family(from_number=CUSTOMER)
    call_family(from_number="+13125550100")

    response = analyst.get("/api/calls/", {"number": written})

    assert [f["sid"] for f in response.json()["results"]] == [family.sid]


def test_number_filter_reads_national_formats_in_the_default_region(analyst, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    family = call_family(from_number="+442079460018")

    response = analyst.get("/api/calls/", {"number": "020 7946 0018"})

    assert [f["sid"] for f in response.json()["results"]] == [family.sid]


def test_list_times_carry_their_zone(analyst, settings):
    settings.TIME_ZONE = "America/New_York"
    call_family(start=START)

    body = analyst.get("/calls/").content.decode()

    assert "2026-11-02 04:00:00 EST" in body
    assert "Times in America/New_York." in body


def test_timeline_puts_the_parents_ringing_before_the_childs_answer(analyst):
    # The Voice URL's request carries no Timestamp: it is stamped with the moment it arrived,
    # to the microsecond, while Twilio's Timestamps are whole seconds.
    family = call_family(start=START, children=[{"status": "completed"}])
    child = family.children.get()
    voice_request = callback(family, "ringing", 0)
    voice_request.sequence_number = None
    # Received in the same second as the child's first callback, half a second into it.
    voice_request.timestamp = child.start_time + timedelta(milliseconds=532)
    voice_request.save()
    callback(child, "initiated", 0)
    callback(child, "in-progress", 1)

    events = analyst.get(f"/calls/{family.sid}/").context["family"].events

    # Latest first: the parent's ringing is the earliest callback of all, last in the list.
    assert [(event.call_id, event.status) for event in events] == [
        (child.id, "in-progress"),
        (child.id, "initiated"),
        (family.id, "ringing"),
    ]
