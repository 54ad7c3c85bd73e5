"""The statistics' daily rollup: settled days read from it give the figures counted live,
changes to old calls mark their days until the next run counts them again, and only
requests over every family, in TIME_ZONE, read it."""

import random
import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.services import user_time_zone_set
from calls import tasks
from calls.log.rollup import call_stats_rollup, rollup_parts
from calls.log.stats_parts import histogram_median
from calls.models import Call, StatsDay, StatsDirtyDay
from calls.reconcile.runs import reconcile_call
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.factories import UserFactory, random_sid
from tests.twilio_requests import post_signed, recording_callback, replay
from twilio_fakes.scenarios import CallPlan, Delivery, agent_to_pstn, pstn_to_agents
from voiceproject.celery import app as celery_app
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db

CUSTOMER = "+12125550123"


@pytest.fixture
def analyst(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    return client


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def at(days: int, hour: int) -> datetime:
    """A time on the local day this many days ago, never later than now."""
    moment = timezone.make_aware(datetime.combine(days_ago(days), time(hour)))
    return min(moment, timezone.now().replace(microsecond=0) - timedelta(minutes=10))


def week() -> dict[str, str]:
    """The last seven days (today included), as the statistics' query asks for them."""
    return {"started_after": days_ago(6).isoformat(), "started_before": days_ago(0).isoformat()}


def customer_call(
    started_at: datetime,
    identities: list[str],
    *,
    outcome: str = "completed",
    ring_seconds: int = 5,
    rng: random.Random | None = None,
) -> list[Delivery]:
    """A customer's call to the support line ringing these agents; the first listed answers
    `2 + ring_seconds` after the call reached us, unless nobody does."""
    plan = CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        started_at=started_at,
        outcome=outcome,
        ring_seconds=ring_seconds,
        talk_seconds=60,
    )
    return pstn_to_agents(
        plan, rng or random.Random(), caller=CUSTOMER, number=SUPPORT_LINE, identities=identities
    )


def parent_sid(deliveries: list[Delivery]) -> str:
    return deliveries[0].parameters["CallSid"]


def leave_voicemail(client, call_sid: str) -> None:
    form = recording_callback(
        call_sid, random_sid("RE"), "completed", RecordingSource="RecordVerb", RecordingChannels="1"
    )
    assert post_signed(client, "/twilio/recording/", form).status_code in (200, 204)


@pytest.fixture
def hand_counted_week(client, agents, settings):
    """Calls on two settled days, yesterday and today, counted by hand below.

    Five days ago: A rings alice and bob, alice answers after 7 s; B rings bob and alice,
    bob answers after 27 s; C rings both, nobody answers; I rings bob alone, who answers
    after 5 s. Three days ago: D rings alice, nobody answers, the caller leaves a voicemail;
    E rings alice, who answers after 12 s. Yesterday: G rings both, alice answers after 9 s.
    Today: alice calls a customer (H).
    """
    settings.SERVICE_LEVEL_SECONDS = 20
    replay(client, customer_call(at(5, 9), ["alice", "bob"]))
    replay(client, customer_call(at(5, 10), ["bob", "alice"], ring_seconds=25))
    replay(client, customer_call(at(5, 11), ["alice", "bob"], outcome="no-answer"))
    replay(client, customer_call(at(5, 12), ["bob"], ring_seconds=3))
    voicemail = customer_call(at(3, 9), ["alice"], outcome="no-answer")
    replay(client, voicemail)
    leave_voicemail(client, parent_sid(voicemail))
    replay(client, customer_call(at(3, 10), ["alice"], ring_seconds=10))
    replay(client, customer_call(at(1, 9), ["alice", "bob"], ring_seconds=7))
    plan = CallPlan(
        account_sid=TEST_ACCOUNT_SID, application_sid="AP" + "d" * 32, started_at=at(0, 9)
    )
    replay(
        client,
        agent_to_pstn(
            plan, random.Random(), identity="alice", caller_id=SUPPORT_LINE, destination=CUSTOMER
        ),
    )


def reads_the_rollup(queries: CaptureQueriesContext) -> bool:
    return any("calls_statsday" in query["sql"] for query in queries.captured_queries)


@pytest.mark.usefixtures("hand_counted_week")
def test_settled_days_read_from_the_rollup_give_the_figures_counted_live(analyst):
    counted_live = analyst.get("/api/calls/stats/", week()).json()

    call_stats_rollup()
    with CaptureQueriesContext(connection) as queries:
        body = analyst.get("/api/calls/stats/", week()).json()

    assert reads_the_rollup(queries)
    assert body == counted_live
    team = body["team"]
    assert (team["inbound"], team["answered"], team["answered_within_target"]) == (7, 5, 4)
    assert (team["abandoned"], team["service_level"]) == (1, pytest.approx(4 / 7))
    agents = {agent["identity"]: agent for agent in body["agents"]}
    assert [
        agents["alice"][figure]
        for figure in ("offered", "answered", "answered_by_colleague", "missed", "talk_seconds")
    ] == [6, 3, 1, 2, 180]
    assert agents["alice"]["answer_rate"] == pytest.approx(3 / 5)
    assert agents["alice"]["median_answer_seconds"] == 9.0
    assert [
        agents["bob"][figure]
        for figure in ("offered", "answered", "answered_by_colleague", "missed", "talk_seconds")
    ] == [5, 2, 2, 1, 120]
    # Two waits, 27 s and 5 s: the mean of the two middle values, as PERCENTILE_CONT gives.
    assert agents["bob"]["median_answer_seconds"] == 16.0
    per_day = {volume["period"]: volume["calls"] for volume in body["per_day"]}
    assert per_day[days_ago(5).isoformat()] == {"inbound": 4}
    assert per_day[days_ago(3).isoformat()] == {"inbound": 2}


@pytest.mark.usefixtures("hand_counted_week")
def test_only_settled_days_are_rolled_up_today_and_yesterday_are_counted_live(analyst):
    call_stats_rollup()

    rolled_up = set(StatsDay.objects.values_list("day", flat=True))
    assert rolled_up == {days_ago(n) for n in range(2, 6)}
    left = rollup_parts(first_day=days_ago(6), last_day=days_ago(0)).days_left
    assert left == [days_ago(6), days_ago(1), days_ago(0)]


def test_calls_going_on_now_mark_no_day(client, agents):
    replay(client, customer_call(timezone.now() - timedelta(minutes=5), ["alice", "bob"]))

    assert Call.objects.count() == 3
    assert not StatsDirtyDay.objects.exists()


def test_a_leg_changed_long_after_it_started_marks_its_utc_day_and_the_day_before(agents):
    started = timezone.now() - timedelta(days=4)
    parent = Call.objects.create(sid=random_sid("CA"), start_time=started)
    utc_day = started.astimezone(UTC).date()
    marked = {utc_day, utc_day - timedelta(days=1)}
    StatsDirtyDay.objects.all().delete()

    for change in (
        lambda: Call.objects.create(sid=random_sid("CA"), parent=parent, start_time=started),
        lambda: Call.objects.filter(pk=parent.pk).update(status="completed"),
        lambda: Call.objects.filter(parent=parent).delete(),
    ):
        change()
        assert set(StatsDirtyDay.objects.values_list("utc_day", flat=True)) == marked
        StatsDirtyDay.objects.all().delete()


def test_a_late_voicemail_marks_its_day_until_the_next_rollup_counts_it(client, agents, analyst):
    missed = customer_call(at(4, 9), ["alice", "bob"], outcome="no-answer")
    replay(client, missed)
    call_stats_rollup()
    assert analyst.get("/api/calls/stats/", week()).json()["team"]["abandoned"] == 1

    leave_voicemail(client, parent_sid(missed))

    assert StatsDirtyDay.objects.exists()
    assert days_ago(4) in rollup_parts(first_day=days_ago(6), last_day=days_ago(0)).days_left
    assert analyst.get("/api/calls/stats/", week()).json()["team"]["abandoned"] == 0
    call_stats_rollup()
    assert not StatsDirtyDay.objects.exists()
    assert days_ago(4) not in rollup_parts(first_day=days_ago(6), last_day=days_ago(0)).days_left
    assert analyst.get("/api/calls/stats/", week()).json()["team"]["abandoned"] == 0


def test_reconciling_an_old_call_marks_its_day_until_the_next_rollup_counts_it(
    client, agents, analyst, fake_twilio
):
    started = at(4, 9)
    deliveries = customer_call(started, ["alice"])
    # The child's answer and end never came: the call looks abandoned.
    child_sid = deliveries[1].parameters["CallSid"]
    replay(
        client,
        [
            delivery
            for delivery in deliveries
            if delivery.parameters["CallSid"] != child_sid
            or delivery.parameters["CallStatus"] not in ("in-progress", "completed")
        ],
    )
    call_stats_rollup()
    assert analyst.get("/api/calls/stats/", week()).json()["team"]["abandoned"] == 1
    ended = started + timedelta(seconds=67)
    fake_twilio.add_call(
        parent_sid(deliveries),
        from_=CUSTOMER,
        to=SUPPORT_LINE,
        start_time=started,
        end_time=ended,
        duration=67,
    )
    fake_twilio.add_call(
        child_sid,
        parent_call_sid=parent_sid(deliveries),
        direction="outbound-dial",
        from_=CUSTOMER,
        to="client:alice",
        start_time=started + timedelta(seconds=1),
        end_time=ended,
        duration=60,
    )

    reconcile_call(sid=parent_sid(deliveries))

    assert StatsDirtyDay.objects.exists()
    team = analyst.get("/api/calls/stats/", week()).json()["team"]
    assert (team["abandoned"], team["answered"], team["answered_within_target"]) == (0, 1, 1)
    call_stats_rollup()
    assert not StatsDirtyDay.objects.exists()
    assert analyst.get("/api/calls/stats/", week()).json()["team"] == team


@pytest.mark.usefixtures("hand_counted_week")
@pytest.mark.parametrize("query", [{"kind": "inbound"}, {"agent": "alice"}, {"sort": "bogus"}])
def test_filtered_statistics_never_read_the_rollup(analyst, query):
    counted_live = analyst.get("/api/calls/stats/", {**week(), **query})
    call_stats_rollup()

    with CaptureQueriesContext(connection) as queries:
        response = analyst.get("/api/calls/stats/", {**week(), **query})

    assert not reads_the_rollup(queries)
    assert (response.status_code, response.json()) == (
        counted_live.status_code,
        counted_live.json(),
    )


@pytest.mark.usefixtures("hand_counted_week")
def test_an_agents_statistics_never_read_the_rollup(client, agents):
    alice, _ = agents
    client.force_login(alice.user)
    counted_live = client.get("/api/calls/stats/", week()).json()
    call_stats_rollup()

    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/calls/stats/", week()).json()

    assert not reads_the_rollup(queries)
    assert body == counted_live
    assert [agent["identity"] for agent in body["agents"]] == ["alice"]


@pytest.mark.usefixtures("hand_counted_week")
def test_an_analyst_in_another_time_zone_gets_figures_counted_live(client):
    user = UserFactory(groups=[ANALYSTS])
    user_time_zone_set(user=user, time_zone="Pacific/Auckland")
    client.force_login(user)
    counted_live = client.get("/api/calls/stats/", week()).json()
    call_stats_rollup()

    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/calls/stats/", week()).json()

    assert not reads_the_rollup(queries)
    assert body == counted_live
    assert body["time_zone"] == "Pacific/Auckland"


@pytest.mark.usefixtures("hand_counted_week")
def test_a_new_service_level_target_is_counted_live_until_rolled_up_again(analyst, settings):
    call_stats_rollup()

    settings.SERVICE_LEVEL_SECONDS = 10
    team = analyst.get("/api/calls/stats/", week()).json()["team"]
    call_stats_rollup()

    # Within 10 s: alice after 7 s and 9 s, bob after 5 s.
    assert (team["answered_within_target"], team["service_level_seconds"]) == (3, 10)
    assert set(StatsDay.objects.values_list("service_level_seconds", flat=True)) == {10}
    assert analyst.get("/api/calls/stats/", week()).json()["team"] == team


@pytest.mark.usefixtures("hand_counted_week")
def test_the_command_rolls_up_the_settled_days_and_rebuilds_them_on_demand():
    StatsDirtyDay.objects.all().delete()  # the week's callbacks marked the days of old calls
    output = StringIO()
    call_command("rollup_call_stats", stdout=output)
    call_command("rollup_call_stats", stdout=output)
    call_command("rollup_call_stats", "--rebuild", stdout=output)

    assert output.getvalue().splitlines() == [
        "Rolled up 4 days; cleared 0 marks.",
        "Rolled up 0 days; cleared 0 marks.",
        "Rolled up 4 days; cleared 0 marks.",
    ]


@pytest.mark.usefixtures("hand_counted_week")
def test_beat_rolls_up_the_statistics_at_the_configured_interval(settings, celery_in_process):
    StatsDirtyDay.objects.all().delete()  # the week's callbacks marked the days of old calls

    assert celery_app.conf.beat_schedule["call-stats-rollup"] == {
        "task": "calls.tasks.call_stats_rollup",
        "schedule": settings.STATS_ROLLUP_INTERVAL,
        "options": {"expires": settings.STATS_ROLLUP_INTERVAL},
    }
    assert tasks.call_stats_rollup.delay().get() == {"days_rolled_up": 4, "marks_cleared": 0}


@pytest.mark.parametrize("seed", range(5))
def test_a_histogram_median_is_the_median_of_the_values_counted(seed):
    rng = random.Random(seed)
    waits = [rng.randrange(40) for _ in range(rng.randrange(1, 30))]

    assert histogram_median(Counter(waits)) == statistics.median(waits)
