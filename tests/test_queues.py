"""Callers wait their turn in a queue and are offered to its agents, as Twilio's signed
requests tell it: the Voice URL, the wait loop, the agents' legs and the <Dial> action."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from agents.constants import Availability
from agents.softphone_sounds import sound_wav
from calls.models import Call
from inbound.hold_music import HOLD_MUSIC, HOLD_MUSIC_PATH
from inbound.models import CallerOutcome, QueueCaller, QueueOffer, WrapUp
from tests.factories import AgentFactory, PhoneNumberFactory, QueueFactory, UserFactory
from tests.queue_calls import QueueCaller as Caller
from tests.queue_calls import rung, waits
from tests.twilio_requests import post_signed
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

SUPPORT_LINE = "+14155550100"


def available(identity: str, idle_for: timedelta = timedelta(minutes=5), **fields):
    return AgentFactory(
        identity=identity,
        availability=Availability.AVAILABLE,
        availability_since=timezone.now() - idle_for,
        **fields,
    )


def support_queue(*agents, **fields):
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    return QueueFactory(agents=agents, numbers=[line], **fields)


def caller(client, number: str = "+12125550100") -> Caller:
    return Caller(client=client, number=SUPPORT_LINE, caller=number)


def arrived_ago(call: Caller, *, seconds: int) -> None:
    """As if the caller had entered the queue that long ago."""
    QueueCaller.objects.filter(call_sid=call.sid).update(
        arrived_at=timezone.now() - timedelta(seconds=seconds)
    )


def outcome(call: Caller) -> str:
    return QueueCaller.objects.get(call_sid=call.sid).outcome


def test_a_number_with_a_queue_sends_its_caller_to_the_wait_loop(client):
    support_queue(available("alice"))
    document = caller(client).calls()
    redirect = document.find("Redirect")
    assert document.find("Dial") is None
    assert "/twilio/queue/wait/?queue=" in redirect.text


def test_a_caller_at_the_head_rings_a_free_agent_alone_for_the_ring_timeout(client):
    queue = support_queue(available("alice"), available("bob"), ring_timeout=15)
    document = caller(client).enters()
    assert len(rung(document)) == 1
    assert document.find("Dial").attrib["timeout"] == "15"
    assert f"queue={queue.pk}" in document.find("Dial").attrib["action"]


def test_the_agent_idle_longest_rings_first(client):
    now = timezone.now()
    carol = available("carol", idle_for=timedelta(hours=3))
    Call.objects.create(
        sid="CA" + "c" * 32,
        agent=carol,
        status="completed",
        start_time=now - timedelta(minutes=10),
        end_time=now - timedelta(minutes=1),
    )
    support_queue(
        available("alice", idle_for=timedelta(minutes=30)),
        available("bob", idle_for=timedelta(hours=2)),
        carol,
    )
    offered = [rung(caller(client, f"+1212555010{n}").enters()) for n in range(4)]
    assert offered == [["bob"], ["alice"], ["carol"], []]


def test_two_callers_never_ring_the_same_agent(client):
    support_queue(available("alice"))
    first, second = caller(client, "+12125550101"), caller(client, "+12125550102")
    assert rung(first.enters()) == ["alice"]
    assert waits(second.enters())
    assert QueueOffer.objects.filter(closed_at__isnull=True).count() == 1


def test_a_ring_timeout_moves_the_caller_to_the_next_agent(client):
    support_queue(
        available("alice", idle_for=timedelta(hours=2)),
        available("bob", idle_for=timedelta(hours=1)),
    )
    call = caller(client)
    assert rung(call.enters()) == ["alice"]
    call.agent_leg("alice", "no-answer")
    again = call.dial_ends("no-answer")
    assert again.find("Redirect") is not None  # back to the wait loop, not voicemail
    assert rung(call.waits_again()) == ["bob"]


def test_a_caller_whose_offer_rang_out_is_not_recorded_as_missed(client):
    support_queue(available("alice"), available("bob"))
    call = caller(client)
    call.enters()
    call.dial_ends("no-answer")
    assert not Call.objects.get(sid=call.sid).unanswered


def test_a_caller_whose_offer_rang_out_keeps_her_place_at_the_head(client):
    support_queue(available("alice"))
    first, second = caller(client, "+12125550101"), caller(client, "+12125550102")
    assert rung(first.enters()) == ["alice"]
    assert waits(second.enters())
    first.dial_ends("no-answer")
    assert waits(second.waits_again())
    assert rung(first.waits_again()) == ["alice"]


def test_callers_queued_while_every_agent_talks_are_served_in_arrival_order(client):
    support_queue(available("alice"))
    talking = caller(client, "+12125550100")
    assert rung(talking.enters()) == ["alice"]
    talking.answered_by("alice")
    waiting = [caller(client, f"+1212555020{n}") for n in range(3)]
    for call in waiting:
        assert waits(call.enters())

    served = []
    talking.talk_ends("alice")
    WrapUp.objects.update(ends_at=timezone.now())
    for _ in range(3):
        # Every waiting caller comes back from her music, latest arrival first.
        for call in reversed(waiting):
            if outcome(call) == CallerOutcome.WAITING and rung(call.waits_again()) == ["alice"]:
                served.append(call.caller)
                call.answered_by("alice")
                call.talk_ends("alice")
                WrapUp.objects.update(ends_at=timezone.now())
    assert served == [call.caller for call in waiting]


def test_a_waiting_caller_hears_her_position(client):
    support_queue(available("alice"))
    first, second = caller(client, "+12125550101"), caller(client, "+12125550102")
    first.enters()
    document = second.enters()
    assert "You are caller number 2 in line." in document.find("Say").text


def test_the_position_is_said_again_only_after_the_announcement_interval(client):
    support_queue(available("alice"), announce_every=30)
    first, second = caller(client, "+12125550101"), caller(client, "+12125550102")
    first.enters()
    second.enters()
    assert second.waits_again().find("Say") is None
    QueueCaller.objects.filter(call_sid=second.sid).update(
        announced_at=timezone.now() - timedelta(seconds=31)
    )
    assert second.waits_again().find("Say") is not None


def test_the_expected_wait_comes_from_the_waits_of_callers_answered(client):
    queue = support_queue(available("alice"))
    now = timezone.now()
    for n, wait in enumerate([100, 200, 300]):
        QueueCaller.objects.create(
            call_sid=f"CA{n:032x}",
            queue=queue,
            arrived_at=now - timedelta(seconds=wait),
            outcome=CallerOutcome.ANSWERED,
            ended_at=now,
            wait_seconds=wait,
            agent=queue.members.get(),
        )
    caller(client, "+12125550101").enters()
    document = caller(client, "+12125550102").enters()
    assert "Your expected wait is about 3 minutes." in document.find("Say").text


def test_a_caller_who_hangs_up_while_waiting_is_abandoned_with_her_wait(client):
    support_queue(available("alice"))
    caller(client, "+12125550101").enters()
    call = caller(client, "+12125550102")
    call.enters()
    arrived_ago(call, seconds=42)
    call.hangs_up()
    row = QueueCaller.objects.get(call_sid=call.sid)
    assert row.outcome == CallerOutcome.ABANDONED
    assert 41 <= row.wait_seconds <= 44  # Twilio's Timestamp has whole seconds


def test_a_caller_who_hangs_up_while_ringing_frees_the_agent(client):
    support_queue(available("alice"))
    first, second = caller(client, "+12125550101"), caller(client, "+12125550102")
    assert rung(first.enters()) == ["alice"]
    second.enters()
    first.hangs_up()
    assert outcome(first) == CallerOutcome.ABANDONED
    assert rung(second.waits_again()) == ["alice"]


def test_an_answered_caller_keeps_her_wait_and_agent(client):
    support_queue(available("alice"))
    call = caller(client)
    call.enters()
    call.answered_by("alice")
    row = QueueCaller.objects.get(call_sid=call.sid)
    assert (row.outcome, row.agent.identity) == (CallerOutcome.ANSWERED, "alice")
    assert row.wait_seconds is not None
    call.hangs_up()
    assert outcome(call) == CallerOutcome.ANSWERED


def test_an_agent_in_wrap_up_is_skipped(client):
    support_queue(
        available("alice", idle_for=timedelta(hours=2)),
        available("bob", idle_for=timedelta(hours=1)),
        wrap_up_seconds=60,
    )
    first = caller(client, "+12125550101")
    assert rung(first.enters()) == ["alice"]
    first.answered_by("alice")
    first.talk_ends("alice")
    assert WrapUp.objects.get().agent.identity == "alice"

    second = caller(client, "+12125550102")
    assert rung(second.enters()) == ["bob"]
    second.dial_ends("no-answer")
    # Bob did not answer and alice still wraps up: bob is tried again.
    assert rung(second.waits_again()) == ["bob"]


def test_an_agent_rings_again_once_her_wrap_up_is_over(client):
    support_queue(available("alice"), wrap_up_seconds=30)
    first = caller(client, "+12125550101")
    first.enters()
    first.answered_by("alice")
    first.talk_ends("alice", at=timezone.now() - timedelta(seconds=31))
    assert rung(caller(client, "+12125550102").enters()) == ["alice"]


def test_a_queue_without_wrap_up_offers_the_agent_straight_away(client):
    support_queue(available("alice"), wrap_up_seconds=0)
    first = caller(client, "+12125550101")
    first.enters()
    first.answered_by("alice")
    first.talk_ends("alice")
    assert rung(caller(client, "+12125550102").enters()) == ["alice"]


def test_wrap_up_starts_from_the_dial_action_when_the_agents_callback_is_lost(client):
    support_queue(available("alice"), wrap_up_seconds=60)
    call = caller(client)
    call.enters()
    call.answered_by("alice")
    call.dial_ends("completed", "alice")
    assert WrapUp.objects.get().agent.identity == "alice"


def test_ring_all_offers_every_free_member_at_once(client):
    support_queue(available("alice"), available("bob"), routing="ring-all")
    assert sorted(rung(caller(client).enters())) == ["alice", "bob"]


def test_ring_all_records_the_agent_who_answered(client):
    support_queue(available("alice"), available("bob"), routing="ring-all")
    call = caller(client)
    call.enters()
    call.agent_leg("alice", "ringing")
    call.answered_by("bob")
    assert QueueCaller.objects.get(call_sid=call.sid).agent.identity == "bob"
    assert not QueueOffer.objects.filter(closed_at__isnull=True).exists()


def test_agents_away_or_talking_outside_the_queue_are_not_offered(client):
    support_queue(AgentFactory(identity="alice", availability=Availability.AWAY))
    assert waits(caller(client).enters())


def test_the_maximum_wait_leads_to_the_queues_voicemail(client):
    queue = support_queue(available("alice"), maximum_wait=60, unanswered_policy="voicemail")
    caller(client, "+12125550101").enters()
    call = caller(client, "+12125550102")
    call.enters()
    arrived_ago(call, seconds=61)
    redirect = call.waits_again().find("Redirect")
    assert f"/twilio/dial/?offered=&queue={queue.pk}" in redirect.text
    document = call.dial_ends("")
    assert document.find("Record") is not None
    assert outcome(call) == CallerOutcome.TIMED_OUT
    assert Call.objects.get(sid=call.sid).unanswered


def test_the_maximum_wait_can_forward_to_another_number(client):
    support_queue(
        available("alice"), maximum_wait=60, unanswered_policy="forward", forward_to="+12125559999"
    )
    caller(client, "+12125550101").enters()
    call = caller(client, "+12125550102")
    call.enters()
    arrived_ago(call, seconds=61)
    call.waits_again()
    dial = call.dial_ends("").find("Dial")
    assert dial.find("Number").text == "+12125559999"
    assert dial.attrib["callerId"] == SUPPORT_LINE


def test_a_wait_request_without_a_queue_is_refused_with_400(client):
    call = caller(client)
    response = post_signed(client, "/twilio/queue/wait/?queue=x", call.parameters("in-progress"))
    assert response.status_code == 400
    response = post_signed(client, "/twilio/queue/wait/", call.parameters("in-progress"))
    assert response.status_code == 400


def test_a_dial_action_with_a_malformed_queue_is_refused_with_400(client):
    call = caller(client)
    parameters = {**call.parameters("in-progress"), "DialCallStatus": "no-answer"}
    response = post_signed(client, "/twilio/dial/?offered=&queue=-1", parameters)
    assert response.status_code == 400


def test_the_live_board_shows_each_queues_callers_waiting_and_agents_wrapping_up(client):
    queue = support_queue(available("alice"), wrap_up_seconds=60)
    QueueFactory(name="Sales")
    served = caller(client, "+12125550101")
    served.enters()
    served.answered_by("alice")
    served.talk_ends("alice")
    first, second = caller(client, "+12125550102"), caller(client, "+12125550103")
    first.enters()
    second.enters()
    arrived = QueueCaller.objects.get(call_sid=first.sid).arrived_at

    client.force_login(UserFactory(groups=[SUPERVISORS]))
    data = client.get("/api/calls/live/").json()

    assert data["queues"] == [
        {
            "name": queue.name,
            "waiting": 2,
            "longest_waiting_since": arrived.isoformat().replace("+00:00", "Z"),
            "wrapping_up": ["alice"],
        },
        {"name": "Sales", "waiting": 0, "longest_waiting_since": None, "wrapping_up": []},
    ]
    (alice,) = data["agents"]
    assert alice["wrap_up_until"] is not None


def test_the_committed_hold_music_is_the_one_synthesised():
    committed = Path(__file__).resolve().parent.parent / "voiceproject/static" / HOLD_MUSIC_PATH
    assert committed.read_bytes() == sound_wav(HOLD_MUSIC)


def test_a_waiting_caller_hears_our_hold_music_unless_another_is_set(client, settings):
    support_queue(available("alice"))
    caller(client, "+12125550101").enters()
    assert (
        caller(client, "+12125550102")
        .enters()
        .find("Play")
        .text.endswith("/static/voice/queue/hold-music.wav")
    )
    settings.QUEUE_HOLD_MUSIC_URL = "https://music.example.com/hold.mp3"
    document = caller(client, "+12125550103").enters()
    assert document.find("Play").text == "https://music.example.com/hold.mp3"
