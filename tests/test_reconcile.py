import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from calls.models import Call, ReconcileRun, StaleLegCheck
from calls.reconcile.runs import reconcile_call, reconcile_recent_calls, reconcile_stale_calls
from presence.selectors import agent_presence
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.factories import AgentFactory, CallFactory, random_sid
from tests.twilio_requests import replay
from twilio_fakes.scenarios import CallPlan, agent_to_pstn

pytestmark = pytest.mark.django_db


def minutes_ago(minutes: int) -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(minutes=minutes)


def add_finished_call(fake_twilio, sid: str, *, started: datetime, **fields) -> dict:
    fields.setdefault("status", "completed")
    return fake_twilio.add_call(
        sid,
        start_time=started,
        end_time=started + timedelta(seconds=42),
        duration=42,
        price="-0.01300",
        **fields,
    )


def test_calls_whose_webhooks_were_lost_are_created_from_rest(fake_twilio):
    sid = random_sid("CA")
    started = minutes_ago(30)
    add_finished_call(fake_twilio, sid, started=started, from_="+14155550111", to="+14155550100")

    run = reconcile_recent_calls()

    call = Call.objects.get(sid=sid)
    assert call.status == "completed"
    assert call.direction == "inbound"
    assert (call.from_number, call.to_number) == ("+14155550111", "+14155550100")
    assert call.start_time == started
    assert call.end_time == started + timedelta(seconds=42)
    assert call.duration == 42
    assert call.price == Decimal("-0.01300")
    assert call.price_unit == "USD"
    assert call.account_sid == fake_twilio.account_sid
    run.refresh_from_db()
    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert (run.pages, run.calls_seen, run.calls_created, run.calls_updated) == (1, 1, 1, 0)
    assert run.watermark is not None


def test_a_call_listed_with_twilios_unknown_duration_is_stored_without_one(fake_twilio):
    sid = random_sid("CA")
    fake_twilio.add_call(sid, status="in-progress", start_time=minutes_ago(3), duration=-1)
    run = reconcile_recent_calls()
    assert run.errors == 0
    assert Call.objects.values_list("status", "duration").get(sid=sid) == ("in-progress", None)


def test_child_listed_before_its_parent_links_to_a_placeholder_then_filled(fake_twilio, settings):
    settings.RECONCILE_PAGE_SIZE = 1
    parent_sid, child_sid = random_sid("CA"), random_sid("CA")
    add_finished_call(fake_twilio, parent_sid, started=minutes_ago(10))
    add_finished_call(
        fake_twilio,
        child_sid,
        started=minutes_ago(9),
        parent_call_sid=parent_sid,
        direction="outbound-dial",
    )

    run = reconcile_recent_calls()

    assert run.pages == 2  # the child first: Twilio lists the newest first
    child = Call.objects.select_related("parent").get(sid=child_sid)
    assert child.parent.sid == parent_sid
    assert child.parent.status == "completed"
    assert Call.objects.count() == 2
    assert (run.calls_created, run.calls_updated) == (2, 1)


def test_parent_started_before_the_window_stays_a_placeholder(fake_twilio):
    parent_sid, child_sid = random_sid("CA"), random_sid("CA")
    add_finished_call(fake_twilio, parent_sid, started=minutes_ago(90))
    add_finished_call(fake_twilio, child_sid, started=minutes_ago(30), parent_call_sid=parent_sid)

    reconcile_recent_calls(since=minutes_ago(60))

    parent = Call.objects.get(sid=parent_sid)
    assert (parent.status, parent.start_time, parent.from_number) == ("", None, "")
    assert Call.objects.get(sid=child_sid).parent == parent


def test_rest_lagging_behind_never_rolls_back_a_newer_local_status(fake_twilio):
    call = CallFactory(status="in-progress", start_time=minutes_ago(5), duration=None)
    fake_twilio.add_call(call.sid, status="ringing", start_time=minutes_ago(5))

    run = reconcile_recent_calls()

    call.refresh_from_db()
    assert call.status == "in-progress"
    assert call.account_sid == fake_twilio.account_sid
    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED


@pytest.mark.usefixtures("agents")
def test_a_start_from_rest_is_kept_when_a_request_timed_by_our_clock_comes_again(
    client, fake_twilio
):
    # Twilio's clock runs ahead of ours: the Voice URL's request, timed by ours, is earlier.
    started = timezone.now().replace(microsecond=0) + timedelta(seconds=30)
    plan = CallPlan(account_sid=TEST_ACCOUNT_SID, application_sid="AP" + "d" * 32,
                    started_at=started)  # fmt: skip
    voice_request = agent_to_pstn(
        plan, random.Random(3), identity="alice", caller_id=SUPPORT_LINE, destination="+12125550123"
    )[0]
    sid = voice_request.parameters["CallSid"]
    replay(client, [voice_request])
    fake_twilio.add_call(sid, status="in-progress", start_time=started)

    reconcile_call(sid=sid)
    replay(client, [voice_request])

    call = Call.objects.get(sid=sid)
    assert (call.start_time, call.start_time_from_twilio) == (started, True)


def test_rest_fills_what_the_final_webhook_did_not_carry(fake_twilio):
    started = minutes_ago(20)
    call = CallFactory(status="completed", start_time=started, duration=None, price=None)
    add_finished_call(fake_twilio, call.sid, started=started, status="no-answer")

    run = reconcile_recent_calls()

    call.refresh_from_db()
    assert call.status == "no-answer"
    assert call.duration == 42
    assert call.price == Decimal("-0.013")
    assert run.calls_updated == 1


def test_nothing_is_written_when_rest_matches_the_table(fake_twilio):
    add_finished_call(fake_twilio, random_sid("CA"), started=minutes_ago(5))
    reconcile_recent_calls()
    before = list(Call.objects.values_list("sid", "updated_at"))

    rerun = reconcile_recent_calls()

    assert (rerun.calls_seen, rerun.calls_created, rerun.calls_updated) == (1, 0, 0)
    assert list(Call.objects.values_list("sid", "updated_at")) == before


def test_leg_to_one_of_our_clients_is_linked_to_the_agent(fake_twilio):
    agent = AgentFactory(identity="alice")
    sid = random_sid("CA")
    add_finished_call(
        fake_twilio,
        sid,
        started=minutes_ago(3),
        direction="outbound-dial",
        from_="+14155550111",
        to="client:alice",
        parent_call_sid=random_sid("CA"),
    )

    reconcile_recent_calls()

    assert Call.objects.get(sid=sid).agent == agent


def test_next_run_lists_from_the_watermark_minus_the_overlap(fake_twilio, settings):
    settings.RECONCILE_OVERLAP = 600
    first = reconcile_recent_calls()

    reconcile_recent_calls()

    query = parse_qs(urlsplit(fake_twilio.list_requests()[-1]).query)
    listed_since = datetime.strptime(query["StartTime>"][0], "%Y-%m-%dT%H:%M:%SZ")
    expected = first.watermark - timedelta(seconds=600)
    assert listed_since.replace(tzinfo=UTC) == expected.replace(microsecond=0)
    assert query["PageSize"] == ["1000"]


def test_a_run_asked_to_start_later_keeps_the_watermark(fake_twilio):
    reconcile_recent_calls()

    later = reconcile_recent_calls(since=minutes_ago(1))

    assert later.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert later.watermark is None


def silent_leg(*, minutes: int, **fields) -> Call:
    """A leg Twilio has told nothing about for this many minutes."""
    leg = CallFactory(**fields)
    Call.objects.filter(pk=leg.pk).update(updated_at=minutes_ago(minutes))
    return leg


def test_legs_silent_for_the_stale_delay_are_fetched_one_by_one(fake_twilio, settings):
    settings.RECONCILE_STALE_AFTER = 300
    stale = silent_leg(minutes=6, status="in-progress", start_time=minutes_ago(8))
    recent = silent_leg(minutes=2, status="ringing", start_time=minutes_ago(2))
    finished = silent_leg(minutes=200, status="completed", start_time=minutes_ago(200))
    add_finished_call(fake_twilio, stale.sid, started=minutes_ago(8))
    add_finished_call(fake_twilio, recent.sid, started=minutes_ago(2))

    run = reconcile_stale_calls()

    stale.refresh_from_db()
    recent.refresh_from_db()
    assert stale.status == "completed"
    assert recent.status == "ringing"
    assert fake_twilio.list_requests() == []
    assert [path for _, path, _ in fake_twilio.requests] == [
        f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Calls/{stale.sid}.json"
    ]
    assert finished.sid not in str(fake_twilio.requests)
    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED


def test_a_leg_twilio_says_is_live_is_asked_about_again_only_after_another_silence(
    fake_twilio, settings
):
    settings.RECONCILE_STALE_AFTER = 300
    talking = silent_leg(minutes=6, status="in-progress", start_time=minutes_ago(30))
    fake_twilio.add_call(talking.sid, status="in-progress", start_time=minutes_ago(30))

    reconcile_stale_calls()
    reconcile_stale_calls()

    assert len(fake_twilio.requests) == 1
    Call.objects.update(updated_at=minutes_ago(6))
    StaleLegCheck.objects.update(checked_at=minutes_ago(6))
    reconcile_stale_calls()
    assert len(fake_twilio.requests) == 2


def test_an_agent_whose_final_callback_was_lost_is_free_after_the_next_sweep(fake_twilio):
    """With the default settings: the sweep asks about a leg silent for five minutes, where
    ON_CALL_MAX_SILENCE alone would keep the agent on a call for hours."""
    alice = AgentFactory(identity="alice")
    leg = silent_leg(minutes=6, status="in-progress", agent=alice, start_time=minutes_ago(9))
    add_finished_call(fake_twilio, leg.sid, started=minutes_ago(9), to="client:alice")
    assert agent_presence(agent=alice, now=timezone.now()).on_call

    reconcile_stale_calls()

    assert not agent_presence(agent=alice, now=timezone.now()).on_call


def test_stale_leg_unknown_to_twilio_is_an_error_not_a_failed_run(fake_twilio):
    unknown = silent_leg(minutes=180, status="queued", start_time=minutes_ago(180))
    known = silent_leg(minutes=170, status="queued", start_time=minutes_ago(170))
    add_finished_call(fake_twilio, known.sid, started=minutes_ago(170))

    run = reconcile_stale_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert run.errors == 1
    assert unknown.sid in run.error_message
    known.refresh_from_db()
    assert known.status == "completed"


def test_one_call_is_reconciled_with_its_children(fake_twilio):
    parent_sid, child_sid, other_sid = random_sid("CA"), random_sid("CA"), random_sid("CA")
    add_finished_call(fake_twilio, parent_sid, started=minutes_ago(500))
    add_finished_call(fake_twilio, child_sid, started=minutes_ago(500), parent_call_sid=parent_sid)
    add_finished_call(fake_twilio, other_sid, started=minutes_ago(500))

    run = reconcile_call(sid=parent_sid)

    assert set(Call.objects.values_list("sid", flat=True)) == {parent_sid, child_sid}
    assert Call.objects.get(sid=child_sid).parent.sid == parent_sid
    assert (run.kind, run.call_sid, run.calls_created) == ("single", parent_sid, 2)


def test_one_call_unknown_to_twilio_fails_the_run_visibly(fake_twilio):
    sid = random_sid("CA")

    with pytest.raises(Exception, match="not found"):
        reconcile_call(sid=sid)

    run = ReconcileRun.objects.get()
    assert run.outcome == ReconcileRun.Outcome.FAILED
    assert "404" in run.error_message


def test_a_call_twilio_says_is_still_going_keeps_its_agent_on_a_call_past_the_silence_limit(
    fake_twilio, settings
):
    settings.ON_CALL_MAX_SILENCE = 3600
    alice = AgentFactory(identity="alice")
    leg = silent_leg(minutes=55, status="in-progress", agent=alice, start_time=minutes_ago(70))
    fake_twilio.add_call(leg.sid, status="in-progress", start_time=minutes_ago(70))
    reconcile_stale_calls()
    Call.objects.filter(pk=leg.pk).update(updated_at=minutes_ago(61))

    assert agent_presence(agent=alice, now=timezone.now()).on_call
