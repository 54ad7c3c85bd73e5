"""A month of realistic call history for the demo, written through the webhooks' own service.

Each call is Twilio's traffic from twilio_fakes.scenarios, parsed and applied exactly as the
Voice URL and status callback views do, so the demo's call log holds what real traffic would
leave.
"""

import math
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.call_table import call_apply_callback
from calls.constants import CallStatus
from calls.deliveries.calls import parse_twilio_callback
from twilio_fakes.scenarios import CallPlan, Delivery, agent_to_agent, agent_to_pstn, pstn_to_agents

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
# Calls still going on when the demo data is made: (kind, seconds since they started).
LIVE_CALLS = [("pstn_to_agents", 95), ("agent_to_pstn", 40)]
LIVE_TALK_SECONDS = 900


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

    Returns how many calls (parent legs) were made. Nothing happens after `now`: a call that
    would end later is still in progress, as are a few calls that started just before.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Agents call each other only when there are two of them.
    kinds = [kind for kind in KIND_WEIGHTS if len(caller_ids) > 1 or kind != "agent_to_agent"]
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
            _apply_until(_call(rng, kind, plan, number, caller_ids), now=now)
            calls += 1
    for kind, seconds_ago in LIVE_CALLS:
        if kind not in kinds:
            continue
        plan = CallPlan(
            account_sid=account_sid,
            application_sid=application_sid,
            started_at=now - timedelta(seconds=seconds_ago),
            talk_seconds=LIVE_TALK_SECONDS,
        )
        _apply_until(_call(rng, kind, plan, number, caller_ids), now=now)
        calls += 1
    return calls


def _apply_until(deliveries: list[Delivery], *, now: datetime) -> None:
    """Apply what Twilio would have sent by `now`, as the webhooks do."""
    for delivery in deliveries:
        if delivery.sent_at <= now:
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
    return CallPlan(
        account_sid=account_sid,
        application_sid=application_sid,
        started_at=started_at,
        outcome=outcome,
        ring_seconds=20 if outcome == CallStatus.NO_ANSWER else rng.randint(3, 18),
        talk_seconds=talk_seconds,
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
