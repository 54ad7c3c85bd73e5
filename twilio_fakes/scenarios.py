"""Twilio's traffic for the three kinds of Voice SDK call, request by request.

Builds the forms Twilio posts to our Voice URL and status callback URL for every leg of a
call, with each leg's full event sequence, as described in "Call legs with Voice SDK calls".
The tests replay them over HTTP; the demo data feeds them to the same service.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from calls.constants import CallStatus
from voiceproject.twilio_ids import client_address

API_VERSION = "2010-04-01"
CALLBACK_SOURCE = "call-progress-events"
# Seconds a callee's phone rings before it answers busy.
BUSY_AFTER_SECONDS = 3
# Seconds of greeting and beep before a voicemail's recording starts.
VOICEMAIL_GREETING_SECONDS = 6
SIP_RESPONSE_CODES: dict[str, str] = {
    CallStatus.COMPLETED: "200",
    CallStatus.BUSY: "486",
    CallStatus.NO_ANSWER: "480",
    CallStatus.CANCELED: "487",
    CallStatus.FAILED: "500",
}


@dataclass(frozen=True)
class Delivery:
    """One request Twilio makes: the webhook it targets ('voice' or 'status') and its form."""

    webhook: str
    parameters: dict[str, str]
    sent_at: datetime


@dataclass(frozen=True)
class CallPlan:
    """How one call goes: who answers, how long it rings and how long they talk."""

    account_sid: str
    application_sid: str
    started_at: datetime
    outcome: str = CallStatus.COMPLETED
    ring_seconds: int = 5
    talk_seconds: int = 60
    # A caller nobody answered leaves a message this long (the voicemail policy); 0: none.
    voicemail_seconds: int = 0

    @property
    def answered(self) -> bool:
        return self.outcome == CallStatus.COMPLETED


def call_sid(rng: random.Random) -> str:
    return f"CA{rng.getrandbits(128):032x}"


def pstn_to_agents(
    plan: CallPlan, rng: random.Random, *, caller: str, number: str, identities: list[str]
) -> list[Delivery]:
    """A phone calls our number, whose agents ring at once; the first one listed answers."""
    parent_sid = call_sid(rng)
    parent = {
        **_leg(plan, parent_sid, "inbound", caller, number),
        "Caller": caller,
        "Called": number,
        "CallerCountry": "US",
        "CalledCountry": "US",
    }
    deliveries = [Delivery("voice", {**parent, "CallStatus": CallStatus.RINGING}, plan.started_at)]
    for position, identity in enumerate(identities):
        # When one agent answers, Twilio hangs up the others' devices.
        outcome = CallStatus.CANCELED if plan.answered and position > 0 else plan.outcome
        child = {
            **_leg(plan, call_sid(rng), "outbound-dial", caller, client_address(identity)),
            "ParentCallSid": parent_sid,
            "Caller": caller,
            "Called": client_address(identity),
        }
        deliveries += _child_events(plan, child, outcome)
    return deliveries + _parent_end(plan, parent)


def agent_to_pstn(
    plan: CallPlan, rng: random.Random, *, identity: str, caller_id: str, destination: str
) -> list[Delivery]:
    """An agent's softphone dials a phone number, shown the agent's caller ID."""
    parent_sid = call_sid(rng)
    child = {
        **_leg(plan, call_sid(rng), "outbound-dial", caller_id, destination),
        "ParentCallSid": parent_sid,
        "Caller": caller_id,
        "Called": destination,
        "CalledCountry": "US",
    }
    return _sdk_call(plan, parent_sid, identity, destination) + (
        _child_events(plan, child, plan.outcome)
    )


def agent_to_agent(
    plan: CallPlan, rng: random.Random, *, identity: str, callee_identity: str
) -> list[Delivery]:
    """An agent's softphone dials another agent by identity."""
    parent_sid = call_sid(rng)
    caller, callee = client_address(identity), client_address(callee_identity)
    child = {
        **_leg(plan, call_sid(rng), "outbound-dial", caller, callee),
        "ParentCallSid": parent_sid,
        "Caller": caller,
        "Called": callee,
    }
    return _sdk_call(plan, parent_sid, identity, callee_identity) + (
        _child_events(plan, child, plan.outcome)
    )


def _sdk_call(plan: CallPlan, parent_sid: str, identity: str, dialled: str) -> list[Delivery]:
    """The parent leg of a softphone's call: the Voice URL request, then its end."""
    parent = {
        **_leg(plan, parent_sid, "inbound", client_address(identity), ""),
        "Caller": client_address(identity),
        "Called": "",
        "ApplicationSid": plan.application_sid,
    }
    # The SDK's connect() parameters arrive as fields of their own; To is what was dialled.
    voice_request = {**parent, "To": dialled, "CallStatus": CallStatus.RINGING}
    return [Delivery("voice", voice_request, plan.started_at), *_parent_end(plan, parent)]


def _leg(plan: CallPlan, sid: str, direction: str, from_: str, to: str) -> dict[str, str]:
    return {
        "AccountSid": plan.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": sid,
        "Direction": direction,
        "From": from_,
        "To": to,
    }


def _child_events(plan: CallPlan, child: dict[str, str], outcome: str) -> list[Delivery]:
    """A <Dial> child's status callbacks: initiated, ringing, answered, completed."""
    steps: list[tuple[str, datetime]] = [
        (CallStatus.INITIATED, plan.started_at + timedelta(seconds=1))
    ]
    if outcome != CallStatus.FAILED:
        steps.append((CallStatus.RINGING, plan.started_at + timedelta(seconds=2)))
    if outcome == CallStatus.COMPLETED:
        answered_at = plan.started_at + timedelta(seconds=2 + plan.ring_seconds)
        steps.append((CallStatus.IN_PROGRESS, answered_at))
    steps.append((outcome, _ended_at(plan, outcome)))
    talk = plan.talk_seconds if outcome == CallStatus.COMPLETED else 0
    return [
        _status_callback(child, status, at, sequence_number, talk)
        for sequence_number, (status, at) in enumerate(steps)
    ]


def dial_action(plan: CallPlan, voice_request: Delivery) -> Delivery:
    """Twilio's request to our <Dial> action when the agents' ringing or the talk ended."""
    parameters = {
        **voice_request.parameters,
        "DialCallStatus": plan.outcome,
        "DialCallDuration": str(plan.talk_seconds if plan.answered else 0),
    }
    return Delivery("dial", parameters, _ended_at(plan, plan.outcome))


def voicemail_recording(plan: CallPlan, rng: random.Random, *, parent_sid: str) -> Delivery:
    """The completed callback of the message a caller nobody answered left (<Record>)."""
    started_at = _ended_at(plan, plan.outcome) + timedelta(seconds=VOICEMAIL_GREETING_SECONDS)
    return _recording_callback(
        plan, rng, parent_sid, "RecordVerb", 1, started_at, plan.voicemail_seconds
    )


def call_recording(plan: CallPlan, rng: random.Random, *, parent_sid: str) -> Delivery:
    """The completed callback of an answered call recorded from answer, both sides apart."""
    started_at = plan.started_at + timedelta(seconds=2 + plan.ring_seconds)
    return _recording_callback(plan, rng, parent_sid, "DialVerb", 2, started_at, plan.talk_seconds)


def _recording_callback(
    plan: CallPlan,
    rng: random.Random,
    parent_sid: str,
    source: str,
    channels: int,
    started_at: datetime,
    seconds: int,
) -> Delivery:
    recording_sid = f"RE{rng.getrandbits(128):032x}"
    parameters = {
        "AccountSid": plan.account_sid,
        "CallSid": parent_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/{plan.account_sid}"
        f"/Recordings/{recording_sid}",
        "RecordingStatus": "completed",
        "RecordingDuration": str(seconds),
        "RecordingChannels": str(channels),
        "RecordingSource": source,
        "RecordingStartTime": format_datetime(started_at),
        "ErrorCode": "0",
    }
    return Delivery("recording", parameters, started_at + timedelta(seconds=seconds + 1))


def _parent_end(plan: CallPlan, parent: dict[str, str]) -> list[Delivery]:
    """The TwiML App's own status callback: the parent leg's end, a single event."""
    ended_at = _ended_at(plan, plan.outcome)
    # With answerOnBridge the parent is answered only when a child is, or when our
    # voicemail answers it after the ringing.
    duration = int((ended_at - plan.started_at).total_seconds()) if plan.answered else 0
    status = plan.outcome
    if plan.voicemail_seconds and not plan.answered:
        duration = VOICEMAIL_GREETING_SECONDS + plan.voicemail_seconds + 1
        ended_at += timedelta(seconds=duration)
        status = CallStatus.COMPLETED
    return [_status_callback(parent, status, ended_at, 0, duration)]


def _ended_at(plan: CallPlan, outcome: str) -> datetime:
    """When a leg ends: after the talk, the busy signal, the failure or the ringing."""
    seconds_by_outcome: dict[str, int] = {
        CallStatus.COMPLETED: 2 + plan.ring_seconds + plan.talk_seconds,
        CallStatus.BUSY: 2 + BUSY_AFTER_SECONDS,
        CallStatus.FAILED: 2,
    }
    seconds = seconds_by_outcome.get(outcome, 2 + plan.ring_seconds)
    return plan.started_at + timedelta(seconds=seconds)


def status_callback_parameters(
    leg: dict[str, str], status: str, at: datetime, sequence_number: int, duration: int
) -> dict[str, str]:
    """A leg's call status callback form: the leg's fields, the status and, when the leg has
    ended, its duration and SIP response code."""
    parameters = {
        **leg,
        "CallStatus": status,
        "Timestamp": format_datetime(at),
        "CallbackSource": CALLBACK_SOURCE,
        "SequenceNumber": str(sequence_number),
    }
    if status in SIP_RESPONSE_CODES:
        parameters["CallDuration"] = str(duration)
        parameters["Duration"] = str(-(-duration // 60))
        parameters["SipResponseCode"] = SIP_RESPONSE_CODES[status]
    return parameters


def _status_callback(
    leg: dict[str, str], status: str, at: datetime, sequence_number: int, duration: int
) -> Delivery:
    return Delivery(
        "status", status_callback_parameters(leg, status, at, sequence_number, duration), at
    )


def hub_conference(
    plan: CallPlan,
    rng: random.Random,
    *,
    customer_sid: str,
    agent_sid: str,
    identity: str,
    held: bool,
) -> list[Delivery]:
    """The conference callbacks of an answered call the hub moved into its conference: both
    legs join at the answer, the customer is maybe put on hold a while, and one side hangs
    up, which ends it (both joined with endConferenceOnExit)."""
    conference_sid = f"CF{rng.getrandbits(128):032x}"
    answered_at = plan.started_at + timedelta(seconds=2 + plan.ring_seconds)
    ended_at = _ended_at(plan, plan.outcome)
    labels = {customer_sid: "customer", agent_sid: f"agent:{identity}"}
    steps: list[tuple[datetime, str, str, dict[str, str]]] = [
        (answered_at, "participant-join", agent_sid, {}),
        (answered_at, "participant-join", customer_sid, {}),
        (answered_at, "conference-start", "", {}),
    ]
    if held and plan.talk_seconds > 30:
        hold_at = answered_at + timedelta(seconds=rng.randint(5, plan.talk_seconds // 2))
        resume_at = hold_at + timedelta(seconds=rng.randint(5, plan.talk_seconds // 3))
        steps += [
            (hold_at, "participant-hold", customer_sid, {"Hold": "true"}),
            (resume_at, "participant-unhold", customer_sid, {"Hold": "false"}),
        ]
    leaving = rng.choice([customer_sid, agent_sid])
    staying = agent_sid if leaving == customer_sid else customer_sid
    steps += [
        (ended_at, "participant-leave", leaving, {"ReasonParticipantLeft": "participant_hung_up"}),
        (
            ended_at,
            "participant-leave",
            staying,
            {"ReasonParticipantLeft": "conference_ended_via_endconferenceonexit"},
        ),
        (
            ended_at,
            "conference-end",
            "",
            {
                "ReasonConferenceEnded": "participant-with-end-conference-on-exit-left",
                "CallSidEndingConference": leaving,
                "ParticipantLabelEndingConference": labels[leaving],
            },
        ),
    ]
    deliveries = []
    for sequence_number, (at, event, call_sid, extra) in enumerate(steps, start=1):
        parameters = {
            "AccountSid": plan.account_sid,
            "ConferenceSid": conference_sid,
            "FriendlyName": f"hub-{customer_sid}",
            "StatusCallbackEvent": event,
            "SequenceNumber": str(sequence_number),
            "Timestamp": format_datetime(at),
        }
        if call_sid:
            parameters |= {
                "CallSid": call_sid,
                "ParticipantLabel": labels[call_sid],
                "Hold": "false",
                "Muted": "false",
                "Coaching": "false",
                "EndConferenceOnExit": "true",
                "StartConferenceOnEnter": "true",
            }
        deliveries.append(Delivery("conference", parameters | extra, at))
    return deliveries
