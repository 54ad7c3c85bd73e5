"""Voice Insights call quality: the beat sweep asks the fake Twilio for finished legs' Call
Summaries over real HTTP and keeps what they say."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import CallQuality, InsightsRefusal
from calls.quality.fetching import call_quality_fetch, call_quality_sweep
from calls.quality.summary import quality_facts, quality_reasons
from tests.factories import AgentFactory, CallFactory, UserFactory
from voiceproject.roles import ANALYSTS
from voiceproject.twilio_rest import twilio_rest_client

pytestmark = pytest.mark.django_db

POOR_SDK_EDGE = {
    "metrics": {
        "inbound": {
            "mos": {"avg": 3.1, "min": 2.4, "max": 3.9},
            "rtt": {"avg": 450, "max": 900},
            "jitter": {"avg": 31, "max": 80},
        }
    }
}


def finished_leg(minutes_ago: int = 20, **fields):
    ended = timezone.now() - timedelta(minutes=minutes_ago)
    return CallFactory(
        start_time=ended - timedelta(minutes=2), end_time=ended, duration=120, **fields
    )


def summary_requests(fake_twilio) -> list[str]:
    return [path for method, path, at in fake_twilio.requests if path.startswith("/v1/Voice/")]


def test_a_complete_summary_is_stored_and_never_asked_for_again(fake_twilio):
    leg = finished_leg()
    fake_twilio.add_call_summaries(leg.sid, {"processing_state": "complete"})

    assert call_quality_sweep(now=timezone.now()).fetched == 1
    call_quality_sweep(now=timezone.now() + timedelta(days=1))

    quality = CallQuality.objects.get(call=leg)
    assert quality.processing_state == "complete"
    assert (quality.call_state, quality.disconnected_by) == ("completed", "caller")
    assert (quality.codec, quality.pdd_ms, quality.last_sip_response_num) == ("opus", 640, 200)
    assert quality.edges["client_edge"]["jitter"] == {"avg": 1.2, "max": 4.0}
    assert quality.edges["client_edge"]["packet_loss"] == {"avg": 0.1, "max": 0.1}
    assert quality.edges["sdk_edge"]["mos"] == {"avg": 4.3, "max": 4.4}
    assert quality.edges["sdk_edge"]["rtt"] == {"avg": 80, "max": 120}
    assert quality.poor is False
    assert quality.next_attempt_at is None
    assert len(summary_requests(fake_twilio)) == 1
    assert summary_requests(fake_twilio)[0] == f"/v1/Voice/{leg.sid}/Summary?ProcessingState=all"


def test_a_partial_summary_is_kept_and_asked_for_again_until_complete(fake_twilio):
    leg = finished_leg()
    fake_twilio.add_call_summaries(
        leg.sid,
        {"processing_state": "partial"},
        {"processing_state": "complete", "tags": ["low_mos"], "sdk_edge": POOR_SDK_EDGE},
    )

    call_quality_sweep(now=timezone.now())
    partial = CallQuality.objects.get(call=leg)
    assert (partial.processing_state, partial.poor) == ("partial", False)
    assert partial.next_attempt_at > timezone.now()
    call_quality_sweep(now=timezone.now())  # not due yet: nothing asked
    assert len(summary_requests(fake_twilio)) == 1

    call_quality_sweep(now=partial.next_attempt_at)

    complete = CallQuality.objects.get(call=leg)
    assert (complete.processing_state, complete.poor) == ("complete", True)
    assert complete.tags == ["low_mos"]
    assert complete.edges["sdk_edge"]["mos"] == {"avg": 3.1, "max": 3.9}
    assert complete.next_attempt_at is None


def test_legs_not_finished_long_enough_or_past_insights_horizon_are_not_asked_about(
    fake_twilio,
):
    finished_leg(minutes_ago=2)
    finished_leg(minutes_ago=31 * 24 * 60)
    CallFactory(status="in-progress", start_time=timezone.now() - timedelta(hours=1))

    assert call_quality_sweep(now=timezone.now()).fetched == 0
    assert summary_requests(fake_twilio) == []


def test_a_404_is_recorded_once_and_stops_asking_for_the_account(fake_twilio):
    first, second = finished_leg(minutes_ago=30), finished_leg(minutes_ago=20)

    assert call_quality_sweep(now=timezone.now()).refused
    assert call_quality_sweep(now=timezone.now() + timedelta(hours=1)).refused

    refusal = InsightsRefusal.objects.get()
    assert (refusal.account_sid, refusal.status, refusal.code) == (
        fake_twilio.account_sid,
        404,
        20404,
    )
    assert refusal.call_sid == first.sid
    assert summary_requests(fake_twilio) == [f"/v1/Voice/{first.sid}/Summary?ProcessingState=all"]
    assert not CallQuality.objects.filter(call=second).exists()


def test_an_account_without_insights_is_recorded_and_asked_about_again_once_cleared(
    fake_twilio,
):
    leg = finished_leg()
    fake_twilio.add_call_summaries(leg.sid, {"processing_state": "complete"})
    fake_twilio.insights_enabled = False

    call_quality_sweep(now=timezone.now())
    refusal = InsightsRefusal.objects.get()
    assert (refusal.status, refusal.code) == (403, 20403)
    assert "not enabled" in refusal.message

    fake_twilio.insights_enabled = True
    refusal.delete()
    call_quality_sweep(now=timezone.now())
    assert CallQuality.objects.get(call=leg).processing_state == "complete"


def test_a_429_storm_puts_the_leg_off_and_stops_the_sweep(fake_twilio, settings):
    settings.TWILIO_API_RETRIES = 2
    first, second = finished_leg(minutes_ago=30), finished_leg(minutes_ago=20)
    fake_twilio.add_call_summaries(first.sid, {"processing_state": "complete"})
    fake_twilio.add_call_summaries(second.sid, {"processing_state": "complete"})
    fake_twilio.fail_next(3, 429, retry_after="0")

    outcome = call_quality_sweep(now=timezone.now())

    assert (outcome.fetched, outcome.failed) == (0, 1)
    assert len(summary_requests(fake_twilio)) == 3  # the client's retries, one leg only
    put_off = CallQuality.objects.get(call=first)
    assert put_off.processing_state == ""
    assert "429" in put_off.last_error
    assert put_off.next_attempt_at > timezone.now()
    assert not CallQuality.objects.filter(call=second).exists()

    call_quality_sweep(now=put_off.next_attempt_at)
    assert CallQuality.objects.filter(processing_state="complete").count() == 2


def test_malformed_and_sentinel_values_read_as_unknown():
    facts = quality_facts(
        {
            "processing_state": "complete",
            "tags": ["high_jitter", 7, None],
            "properties": {"pdd_ms": -1, "last_sip_response_num": "abc", "disconnected_by": 3},
            "client_edge": {"metrics": {"inbound": {"jitter": {"avg": "NaN", "max": "12.5"}}}},
            "sdk_edge": "nonsense",
            "sip_edge": None,
        }
    )
    assert facts.tags == ["high_jitter"]
    assert (facts.pdd_ms, facts.last_sip_response_num, facts.disconnected_by) == (None, None, "")
    assert facts.edges == {"client_edge": {"jitter": {"max": 12.5}}}
    assert facts.poor


def test_why_a_leg_is_poor_is_said_in_words():
    assert quality_reasons(["low_mos", "high_packet_loss", "custom"]) == [
        "packet loss above 5 %",
        "MOS below 3.5",
    ]


def test_the_family_page_says_each_legs_quality_and_why_a_poor_one_is(client, fake_twilio):
    parent = finished_leg()
    child = finished_leg(parent=parent, direction="outbound-dial", to_number="client:alice")
    CallQuality.objects.create(
        call=child,
        processing_state="complete",
        poor=True,
        tags=["low_mos", "high_jitter"],
        edges={"sdk_edge": {"mos": {"avg": 3.1, "max": 3.9}, "jitter": {"avg": 31, "max": 80}}},
        codec="opus",
        disconnected_by="callee",
    )
    CallQuality.objects.create(call=parent, processing_state="partial", poor=False)
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get(f"/calls/{parent.sid}/").content.decode()

    assert "Poor</strong>: high jitter, MOS below 3.5" in page
    assert "MOS 3.1 · jitter 31 ms · opus · ended by the callee" in page
    assert "Good</strong>" in page
    assert "(partial summary)" in page


def test_a_leg_without_a_summary_says_its_quality_is_not_known_yet(client):
    leg = finished_leg()
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get(f"/calls/{leg.sid}/").content.decode()

    assert "Not known yet." in page


def quality_of(leg, *, poor: bool, disconnected_by: str = "caller") -> None:
    CallQuality.objects.create(
        call=leg, processing_state="complete", poor=poor, disconnected_by=disconnected_by
    )


def test_the_call_log_lists_families_with_a_poor_leg(client):
    poor_parent, good_parent, unknown = finished_leg(), finished_leg(), finished_leg()
    poor_child = finished_leg(parent=poor_parent, direction="outbound-dial")
    quality_of(poor_parent, poor=False)
    quality_of(poor_child, poor=True)
    quality_of(good_parent, poor=False)
    client.force_login(UserFactory(groups=[ANALYSTS]))

    poor = client.get("/calls/", {"quality": "poor"}).content.decode()
    good = client.get("/calls/", {"quality": "good"}).content.decode()

    assert poor_parent.sid in poor
    assert good_parent.sid not in poor
    assert unknown.sid not in poor
    assert good_parent.sid in good
    assert unknown.sid not in good


def test_the_call_log_lists_families_a_side_hung_up(client):
    by_caller, by_callee = finished_leg(), finished_leg()
    quality_of(by_caller, poor=False, disconnected_by="caller")
    quality_of(by_callee, poor=False, disconnected_by="callee")
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get("/calls/", {"disconnected_by": "callee"}).content.decode()

    assert by_callee.sid in page
    assert by_caller.sid not in page


def test_an_unknown_quality_filter_is_refused_in_words(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))

    response = client.get("/calls/export.csv", {"quality": "<b>awful</b>"})

    assert response.status_code == 400


def test_statistics_show_the_share_of_poor_calls_per_agent_and_per_day(client):
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    for agent, poor in [(alice, True), (alice, False), (alice, False), (bob, False)]:
        parent = finished_leg()
        child = finished_leg(parent=parent, direction="outbound-dial", agent=agent)
        quality_of(child, poor=poor)
    finished_leg()  # quality not known: left out
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get("/calls/stats/").content.decode()

    assert "Call quality: share of poor calls" in page
    assert re.search(r"alice</a></td><td[^>]*>3</td><td[^>]*>1</td><td[^>]*>33%", page)
    assert re.search(r"bob</a></td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>0%", page)
    today = timezone.localdate(timezone.now() - timedelta(minutes=22)).isoformat()
    assert re.search(rf"{today}</td><td[^>]*>4</td><td[^>]*>1</td><td[^>]*>25%", page)


def test_an_agent_sees_only_her_own_share_of_poor_calls(client):
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    for agent in (alice, bob):
        parent = finished_leg()
        quality_of(finished_leg(parent=parent, direction="outbound-dial", agent=agent), poor=True)
    client.force_login(alice.user)

    page = client.get("/calls/stats/").content.decode()

    quality = page.split("Call quality: share of poor calls")[1]
    assert re.search(r"alice</a></td><td[^>]*>1</td><td[^>]*>1</td><td[^>]*>100%", quality)
    assert "bob" not in quality


def test_a_complete_summary_is_never_replaced_by_an_older_answer(fake_twilio):
    leg = finished_leg()
    fake_twilio.add_call_summaries(
        leg.sid,
        {"processing_state": "complete", "tags": ["low_mos"]},
        {"processing_state": "partial"},
    )
    client = twilio_rest_client()

    call_quality_fetch(call=leg, client=client, now=timezone.now())
    # A sweep that overlapped the first one stores the partial answer it got.
    call_quality_fetch(call=leg, client=client, now=timezone.now())

    quality = CallQuality.objects.get(call=leg)
    assert (quality.processing_state, quality.poor, quality.attempts) == ("complete", True, 1)
    assert quality.next_attempt_at is None


def test_an_unexpected_processing_state_is_asked_for_again_later(fake_twilio):
    leg = finished_leg()
    fake_twilio.add_call_summaries(leg.sid, {"processing_state": "<i>weird</i>"})

    call_quality_sweep(now=timezone.now())

    quality = CallQuality.objects.get(call=leg)
    assert quality.processing_state == ""
    assert "weird" in quality.last_error
    assert quality.next_attempt_at == pytest.approx(
        timezone.now() + timedelta(minutes=5), abs=timedelta(seconds=30)
    )


def test_summary_values_on_the_family_page_are_shown_as_text(client):
    leg = finished_leg()
    CallQuality.objects.create(
        call=leg,
        processing_state="complete",
        poor=True,
        tags=["<script>alert(1)</script>"],
        codec="<b>opus</b>",
        disconnected_by="<img src=x>",
    )
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get(f"/calls/{leg.sid}/").content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;b&gt;opus&lt;/b&gt;" in page
    assert "ended by the &lt;img src=x&gt;" in page
