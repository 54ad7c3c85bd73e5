"""A month of realistic call history for the demo, written through the webhooks' own service.

Each call is Twilio's traffic from twilio_fakes.scenarios, parsed and applied exactly as the
Voice URL, status callback, <Dial> action and recording callback views do, so the demo's call
log holds what real traffic would leave: ended calls only, some recorded, and voicemail left on the
demo number when nobody answered. The recordings' audio stays at Twilio, where the demo's
made-up account has none: the pages say that it could not be fetched.
"""

import math
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import PhoneNumber
from calls.call_table import call_apply_callback, call_record_dial_result
from calls.conference_table import conference_apply_callback
from calls.constants import CallStatus
from calls.deliveries.calls import parse_dial_action, parse_twilio_callback
from calls.deliveries.conferences import parse_conference_callback
from calls.deliveries.recordings import parse_recording_callback
from calls.models import Recording
from calls.recordings.writer import recording_apply_callback
from calls.webhooks.unanswered import dial_action_is_missed
from twilio_fakes.scenarios import (
    CallPlan,
    Delivery,
    agent_to_agent,
    agent_to_pstn,
    call_recording,
    dial_action,
    hub_conference,
    pstn_to_agents,
    voicemail_recording,
)
from voiceproject.twilio_ids import client_identity

# Relative call volume by hour of day: office hours, a lunch dip, quiet nights.
HOURLY_WEIGHTS = [0.1] * 7 + [0.6, 2, 3, 3, 2.5, 1.5, 2, 3, 3, 2.5, 1.5, 0.6, 0.4] + [0.2] * 4
WEEKEND_SHARE = 0.3
CUSTOMERS = [f"+1{area}55501{n:02d}" for area in (212, 312, 415, 617, 646, 718) for n in range(15)]
# How each kind of call tends to end, as (outcome, weight).
OUTCOMES = {
    "pstn_to_agents": [
        (CallStatus.COMPLETED, 75),
        (CallStatus.NO_ANSWER, 12),
        (CallStatus.CANCELED, 8),
        (CallStatus.BUSY, 3),
        (CallStatus.FAILED, 2),
    ],
    "agent_to_pstn": [
        (CallStatus.COMPLETED, 65),
        (CallStatus.NO_ANSWER, 15),
        (CallStatus.BUSY, 12),
        (CallStatus.FAILED, 5),
        (CallStatus.CANCELED, 3),
    ],
    "agent_to_agent": [
        (CallStatus.COMPLETED, 80),
        (CallStatus.NO_ANSWER, 15),
        (CallStatus.BUSY, 5),
    ],
}
KIND_WEIGHTS = {"pstn_to_agents": 55, "agent_to_pstn": 30, "agent_to_agent": 15}
# Shares of the calls to the demo number that are recorded (answered ones) and whose caller
# leaves a voicemail (unanswered ones).
RECORDED_SHARE = 0.25
# Share of the answered calls to the demo number whose customer was put on hold.
HELD_SHARE = 0.3
VOICEMAIL_SHARE = 0.6


@transaction.atomic
def demo_calls_create(
    *,
    account_sid: str,
    application_sid: str,
    number: str,
    caller_ids: dict[str, str],
    days: int = 30,
    seed: int | None = None,
    now: datetime | None = None,
) -> int:
    """Create `days` of calls to and from the agents in caller_ids (identity -> caller ID).

    Returns how many calls (parent legs) were made. Every call has ended by `now`: one that
    would end later is left out, since nothing would ever end it.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Agents call each other only when there are two of them.
    kinds = [kind for kind in KIND_WEIGHTS if len(caller_ids) > 1 or kind != "agent_to_agent"]
    demo_number = PhoneNumber.objects.filter(number=number).first()
    calls = 0
    for days_ago in range(days - 1, -1, -1):
        day = midnight - timedelta(days=days_ago)
        volume = rng.randint(30, 60)
        if day.weekday() >= 5:
            volume = round(volume * WEEKEND_SHARE)
        for started_at in sorted(_start_times(rng, day, volume)):
            if started_at >= now:
                break
            kind = rng.choices(kinds, weights=[KIND_WEIGHTS[kind] for kind in kinds])[0]
            plan = _plan(rng, kind, account_sid, application_sid, started_at)
            deliveries = _call(rng, kind, plan, number, caller_ids)
            if kind == "pstn_to_agents":
                deliveries += _after_the_dial(rng, plan, deliveries)
            if max(delivery.sent_at for delivery in deliveries) > now:
                continue
            _apply(sorted(deliveries, key=lambda delivery: delivery.sent_at), demo_number)
            calls += 1
    return calls


def _after_the_dial(rng: random.Random, plan: CallPlan, deliveries: list[Delivery]) -> list:
    """What Twilio sends besides call progress for a call to our number: the <Dial> action,
    and the callbacks of its recording or of the caller's voicemail."""
    voice_request = deliveries[0]
    parent_sid = voice_request.parameters["CallSid"]
    extra = [dial_action(plan, voice_request)]
    if plan.voicemail_seconds and not plan.answered:
        extra.append(voicemail_recording(plan, rng, parent_sid=parent_sid))
    elif plan.answered and rng.random() < RECORDED_SHARE:
        extra.append(call_recording(plan, rng, parent_sid=parent_sid))
    if plan.answered:
        # The conference hub moved the answered call into its conference.
        answering = next(
            delivery.parameters
            for delivery in deliveries
            if delivery.parameters.get("ParentCallSid")
            and delivery.parameters["CallStatus"] == CallStatus.IN_PROGRESS
        )
        extra += hub_conference(
            plan,
            rng,
            customer_sid=parent_sid,
            agent_sid=answering["CallSid"],
            identity=client_identity(answering["To"]) or "",
            held=rng.random() < HELD_SHARE,
        )
    return extra


def _apply(deliveries: list[Delivery], demo_number: PhoneNumber | None) -> None:
    """Apply each delivery as its webhook does."""
    offered = [
        identity
        for delivery in deliveries
        if delivery.parameters.get("ParentCallSid")
        and (identity := client_identity(delivery.parameters["To"]))
        and delivery.parameters["CallStatus"] == CallStatus.INITIATED
    ]
    for delivery in deliveries:
        if delivery.webhook == "dial":
            # Our action URL carries who was rung.
            action = parse_dial_action(
                delivery.parameters, {"offered": ",".join(offered)}, received_at=delivery.sent_at
            )
            call_apply_callback(callback=action.callback)
            call_record_dial_result(
                sid=action.callback.call_sid,
                dial_status=action.dial_status,
                unanswered=dial_action_is_missed(action=action),
                offered_to=action.offered,
            )
        elif delivery.webhook == "conference":
            conference_apply_callback(
                callback=parse_conference_callback(
                    delivery.parameters, received_at=delivery.sent_at
                )
            )
        elif delivery.webhook == "recording":
            # Our <Record> callback URL names the number the voicemail was left for.
            owner = {"number": str(demo_number.pk)} if demo_number else {}
            query = owner if delivery.parameters["RecordingSource"] == "RecordVerb" else {}
            recording = parse_recording_callback(
                delivery.parameters, query, received_at=delivery.sent_at
            )
            recording_apply_callback(callback=recording)
            # As if it had arrived then rather than now.
            Recording.objects.filter(sid=recording.recording_sid).update(
                created_at=delivery.sent_at
            )
        else:
            callback = parse_twilio_callback(delivery.parameters, received_at=delivery.sent_at)
            call_apply_callback(callback=callback)


def _start_times(rng: random.Random, day: datetime, volume: int) -> list[datetime]:
    hours = rng.choices(range(24), weights=HOURLY_WEIGHTS, k=volume)
    return [day + timedelta(hours=hour, seconds=rng.randrange(3600)) for hour in hours]


def _plan(
    rng: random.Random, kind: str, account_sid: str, application_sid: str, started_at: datetime
) -> CallPlan:
    outcomes, weights = zip(*OUTCOMES[kind], strict=True)
    outcome = rng.choices(outcomes, weights=weights)[0]
    # Talk times are long-tailed: most calls take a few minutes, a few most of an hour.
    talk_seconds = min(3600, max(8, round(math.exp(rng.gauss(math.log(150), 0.9)))))
    leaves_voicemail = (
        kind == "pstn_to_agents"
        and outcome == CallStatus.NO_ANSWER
        and rng.random() < VOICEMAIL_SHARE
    )
    return CallPlan(
        account_sid=account_sid,
        application_sid=application_sid,
        started_at=started_at,
        outcome=outcome,
        ring_seconds=20 if outcome == CallStatus.NO_ANSWER else rng.randint(3, 18),
        talk_seconds=talk_seconds,
        voicemail_seconds=rng.randint(8, 60) if leaves_voicemail else 0,
    )


def _call(
    rng: random.Random, kind: str, plan: CallPlan, number: str, caller_ids: dict[str, str]
) -> list[Delivery]:
    identities = list(caller_ids)
    rng.shuffle(identities)
    caller = identities[0]
    if kind == "pstn_to_agents":
        return pstn_to_agents(
            plan, rng, caller=rng.choice(CUSTOMERS), number=number, identities=identities
        )
    if kind == "agent_to_pstn":
        return agent_to_pstn(
            plan,
            rng,
            identity=caller,
            caller_id=caller_ids[caller],
            destination=rng.choice(CUSTOMERS),
        )
    return agent_to_agent(plan, rng, identity=caller, callee_identity=identities[-1])
