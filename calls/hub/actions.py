"""What agents and supervisors do to a live call in its conference, through Twilio's
Participants API (helper library).

Each action checks that the conference still goes on and that the party it touches is still
in it, asks Twilio, notes it for the family's timeline, and answers the conference's state.
Repeating an action changes nothing (hold on a held party asks Twilio nothing). When the
call has moved on (it ended, the party left), HubConflict says why; the API answers 409.

Patterns (Twilio's contact-center blueprint): hold is Hold=true with our hold music; a blind
transfer holds the customer, adds the new party and lets the first agent go, the customer
coming off hold when the new party joins; a warm transfer holds the customer while the two
agents talk, then completes (the first agent leaves) or is cancelled (the new party leaves).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException

from agents.models import Agent
from calls.conference_table import conference_count_transfer, conference_note_invite
from calls.constants import (
    LEG_STATUS_CALLBACK_EVENTS,
    TERMINAL_STATUSES,
    CallStatus,
    HubActionKind,
    PartyRole,
)
from calls.hub.selectors import live_participants
from calls.hub.twiml import HubUrls
from calls.models import Call, Conference, ConferenceParticipant, HubAction
from calls.participant_labels import CUSTOMER, agent_label, party_label, supervisor_label
from presence.selectors import agents_free_to_take_a_call
from voiceproject.twilio_ids import (
    client_address,
    client_identity,
    e164_from_dialled,
    is_identity,
)
from voiceproject.twilio_rest import TwilioUnavailable, twilio_rest_client_for_a_page

# A leg's statuses before anyone answers it.
NOT_YET_ANSWERED = (CallStatus.QUEUED, CallStatus.INITIATED, CallStatus.RINGING)

logger = logging.getLogger(__name__)


class HubConflict(Exception):
    """The call has moved on: the action cannot apply now. The message says why."""


class HubUnavailable(Exception):
    """Twilio could not be reached; nothing changed."""


class MonitorMode:
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"
    ALL = (LISTEN, WHISPER, BARGE)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user and the softphone identity of her agent profile."""

    user_id: int
    identity: str


ENDED = "The call has ended."
NO_CUSTOMER = "Nobody else is in the call to put on hold."
NOT_CONSULTING = "There is no transfer going on to complete or cancel."
CONSULT_NOT_JOINED = "The colleague you are consulting has not answered yet."
ALREADY_CONSULTING = "A transfer is already going on: complete or cancel it first."
UNKNOWN_DESTINATION = "That is neither an agent's name nor a phone number."
COLLEAGUE_BUSY = "That colleague is not available to take a call right now."
PARTY_LEFT = "That party has already left the call."
NO_AGENT_TO_COACH = "No agent is in the call to coach."
NO_CALLER_ID = "No caller ID to call a phone number from: set the number's or your own."


def hold(*, conference: Conference, actor: Actor, urls: HubUrls) -> None:
    """Put the other party on hold, with music."""
    target = _other_party(conference, actor)
    if not target.hold:
        _update(conference, target, hold=True, hold_url=urls.hold_music, hold_method="GET")
    _note(conference, actor, HubActionKind.HOLD, target.label)


def resume(*, conference: Conference, actor: Actor) -> None:
    target = _other_party(conference, actor)
    if target.hold:
        _update(conference, target, hold=False)
    _note(conference, actor, HubActionKind.RESUME, target.label)


def transfer(*, conference: Conference, actor: Actor, to: str, urls: HubUrls) -> None:
    """Blind transfer: the customer waits on hold until the new party joins; the agent leaves
    at once (without ending the call)."""
    customer = _other_party(conference, actor)
    _refuse_second_consult(conference)
    destination = _destination(conference, actor, to)
    if not customer.hold:
        _update(conference, customer, hold=True, hold_url=urls.hold_music, hold_method="GET")
    _invite(conference, destination, urls, ends_call=True, releases_hold=True)
    mine = _own_participant(conference, actor)
    _update(conference, mine, end_conference_on_exit=False)
    _remove(conference, mine)
    conference_count_transfer(conference=conference)
    _note(conference, actor, HubActionKind.TRANSFER, to)


def consult(*, conference: Conference, actor: Actor, to: str, urls: HubUrls) -> None:
    """Warm transfer, first step: the customer on hold, a colleague or number called."""
    customer = _other_party(conference, actor)
    _refuse_second_consult(conference)
    destination = _destination(conference, actor, to)
    if not customer.hold:
        _update(conference, customer, hold=True, hold_url=urls.hold_music, hold_method="GET")
    _invite(conference, destination, urls, ends_call=False, consulted=True)
    _note(conference, actor, HubActionKind.CONSULT, to)


def complete_transfer(*, conference: Conference, actor: Actor) -> None:
    """Warm transfer, done: the customer back, the consulted party staying, the agent gone."""
    consulted = _consulted(conference)
    if consulted.joined_at is None:
        raise HubConflict(CONSULT_NOT_JOINED)
    _update(conference, consulted, end_conference_on_exit=True)
    customer = _customer(conference)
    if customer is not None and customer.hold:
        _update(conference, customer, hold=False)
    ConferenceParticipant.objects.filter(pk=consulted.pk).update(consulted=False)
    mine = _own_participant(conference, actor)
    _update(conference, mine, end_conference_on_exit=False)
    _remove(conference, mine)
    conference_count_transfer(conference=conference)
    _note(conference, actor, HubActionKind.COMPLETE, consulted.label)


def cancel_consult(*, conference: Conference, actor: Actor) -> None:
    """Warm transfer, abandoned: the consulted party leaves (or stops ringing), the customer
    comes back."""
    consulted = _consulted(conference)
    ConferenceParticipant.objects.filter(pk=consulted.pk).update(consulted=False)
    _remove(conference, consulted)
    customer = _customer(conference)
    if customer is not None and customer.hold:
        _update(conference, customer, hold=False)
    _note(conference, actor, HubActionKind.CANCEL_CONSULT, consulted.label)


def add_party(*, conference: Conference, actor: Actor, to: str, urls: HubUrls) -> None:
    """A three-way call: a colleague or number joins the conversation."""
    _own_participant(conference, actor)
    _invite(conference, _destination(conference, actor, to), urls, ends_call=False)
    _note(conference, actor, HubActionKind.ADD, to)


def remove_party(*, conference: Conference, actor: Actor, call_sid: str) -> None:
    """Let a party the agent added go (a three-way call back to two)."""
    _own_participant(conference, actor)
    target = (
        live_participants(conference)
        .filter(call_sid=call_sid)
        .exclude(role=PartyRole.CUSTOMER)
        .first()
    )
    if target is None:
        raise HubConflict(PARTY_LEFT)
    _remove(conference, target)
    _note(conference, actor, HubActionKind.REMOVE, target.label)


def monitor(*, conference: Conference, actor: Actor, mode: str, urls: HubUrls) -> None:
    """A supervisor listens (muted), whispers to the agent (coaching), or barges in; the
    first call rings her softphone, later ones change how she takes part."""
    _still_going(conference)
    agent = (
        live_participants(conference).filter(role=PartyRole.AGENT, joined_at__isnull=False).first()
    )
    if mode == MonitorMode.WHISPER and agent is None:
        raise HubConflict(NO_AGENT_TO_COACH)
    flags: dict[str, str | bool] = {
        "muted": mode == MonitorMode.LISTEN,
        "coaching": mode == MonitorMode.WHISPER,
    }
    if mode == MonitorMode.WHISPER and agent is not None:
        flags["call_sid_to_coach"] = agent.call_sid
    label = supervisor_label(actor.identity)
    mine = live_participants(conference).filter(label=label).first()
    if mine is None:
        _create_participant(
            conference,
            label=label,
            to=client_address(actor.identity),
            from_=_presented_number(conference),
            urls=urls,
            options={"end_conference_on_exit": False, "beep": False, **flags},
        )
    else:
        _update(conference, mine, **flags)
    _note(conference, actor, HubActionKind(mode), label)


def leave(*, conference: Conference, actor: Actor) -> None:
    """The supervisor stops listening."""
    mine = live_participants(conference).filter(label=supervisor_label(actor.identity)).first()
    if mine is None:
        raise HubConflict(PARTY_LEFT)
    _remove(conference, mine)
    _note(conference, actor, HubActionKind.LEAVE, mine.label)


def cancel_outgoing_call(*, family: Call, actor: Actor) -> None:
    """Stop an agent's own outgoing call while it rings: its ringing legs are cancelled."""
    ringing = list(
        family.children.filter(status__in=NOT_YET_ANSWERED).values_list("sid", flat=True)
    )
    if family.status in TERMINAL_STATUSES or (not ringing and family.answer_time is not None):
        raise HubConflict("The call is no longer ringing.")
    client = twilio_rest_client_for_a_page()
    try:
        for sid in ringing:
            client.calls(sid).update(status="canceled")
        if not ringing:
            client.calls(family.sid).update(status="completed")
    except TwilioRestException as error:
        raise HubConflict("The call is no longer ringing.") from error
    except TwilioUnavailable as error:
        raise HubUnavailable(str(error)) from error
    conference = Conference.objects.filter(family=family).first()
    if conference is not None:
        _note(conference, actor, HubActionKind.CANCEL_CALL, "")


# ----- The parts each action is made of -----


def _still_going(conference: Conference) -> None:
    conference.refresh_from_db(fields=["status", "ended_at"])
    if conference.is_over or conference.ended_at is not None:
        raise HubConflict(ENDED)


def _own_participant(conference: Conference, actor: Actor) -> ConferenceParticipant:
    _still_going(conference)
    mine = live_participants(conference).filter(label=agent_label(actor.identity)).first()
    if mine is None:
        raise HubConflict(PARTY_LEFT)
    return mine


def _customer(conference: Conference) -> ConferenceParticipant | None:
    return live_participants(conference).filter(label=CUSTOMER).first()


def _other_party(conference: Conference, actor: Actor) -> ConferenceParticipant:
    """The party an agent holds or transfers: the customer, or in a call between two agents,
    the other agent."""
    mine = _own_participant(conference, actor)
    others = live_participants(conference).exclude(pk=mine.pk).exclude(role=PartyRole.SUPERVISOR)
    target = others.filter(label=CUSTOMER).first() or others.filter(consulted=False).first()
    if target is None:
        raise HubConflict(NO_CUSTOMER)
    return target


def _consulted(conference: Conference) -> ConferenceParticipant:
    _still_going(conference)
    consulted = live_participants(conference).filter(consulted=True).first()
    if consulted is None:
        raise HubConflict(NOT_CONSULTING)
    return consulted


def _refuse_second_consult(conference: Conference) -> None:
    if live_participants(conference).filter(consulted=True).exists():
        raise HubConflict(ALREADY_CONSULTING)


@dataclass(frozen=True)
class _Destination:
    label: str
    address: str
    from_: str


def _destination(conference: Conference, actor: Actor, to: str) -> _Destination:
    """Who `to` names: a colleague (only one free to take a call) or a phone number."""
    destination = to.strip()
    if is_identity(destination) and Agent.objects.filter(identity=destination).exists():
        free = agents_free_to_take_a_call(
            Agent.objects.filter(identity=destination, is_active=True, incoming_allowed=True),
            now=timezone.now(),
        )
        if not free.exists() or destination == actor.identity:
            raise HubConflict(COLLEAGUE_BUSY)
        return _Destination(
            agent_label(destination), client_address(destination), _presented_number(conference)
        )
    number = e164_from_dialled(destination, region=settings.DEFAULT_PHONE_REGION)
    if number is None:
        raise HubConflict(UNKNOWN_DESTINATION)
    from_ = _caller_id(conference, actor)
    if not from_:
        raise HubConflict(NO_CALLER_ID)
    label = party_label(conference.participants.filter(role=PartyRole.PARTY).count() + 1)
    return _Destination(label, number, from_)


def _invite(
    conference: Conference,
    destination: _Destination,
    urls: HubUrls,
    *,
    ends_call: bool,
    releases_hold: bool = False,
    consulted: bool = False,
) -> None:
    _create_participant(
        conference,
        label=destination.label,
        to=destination.address,
        from_=destination.from_,
        urls=urls,
        options={"end_conference_on_exit": ends_call, "early_media": True},
        marks=(releases_hold, consulted),
    )


def _create_participant(
    conference: Conference,
    *,
    label: str,
    to: str,
    from_: str,
    urls: HubUrls,
    options: dict[str, str | bool],
    marks: tuple[bool, bool] = (False, False),
) -> None:
    """Ask Twilio to call the party in; `marks` are its releases_hold and consulted."""
    releases_hold, consulted = marks
    family_sid = conference.family.sid if conference.family else ""
    try:
        created = (
            twilio_rest_client_for_a_page()
            .conferences(conference.sid)
            .participants.create(
                from_=from_,
                to=to,
                label=label,
                timeout=settings.TWILIO_DIAL_TIMEOUT,
                start_conference_on_enter=True,
                status_callback=urls.status_callback_for(family_sid),
                status_callback_event=LEG_STATUS_CALLBACK_EVENTS.split(),
                status_callback_method="POST",
                **options,
            )
        )
    except TwilioRestException as error:
        raise HubConflict(_reason(error)) from error
    except TwilioUnavailable as error:
        raise HubUnavailable(str(error)) from error
    with transaction.atomic():
        conference_note_invite(
            conference=conference, call_sid=created.call_sid, label=label, at=timezone.now()
        )
        ConferenceParticipant.objects.filter(
            conference=conference, call_sid=created.call_sid
        ).update(releases_hold=releases_hold, consulted=consulted)


def _update(conference: Conference, participant: ConferenceParticipant, **changes: object) -> None:
    try:
        twilio_rest_client_for_a_page().conferences(conference.sid).participants(
            participant.call_sid
        ).update(**changes)
    except TwilioRestException as error:
        raise HubConflict(_reason(error)) from error
    except TwilioUnavailable as error:
        raise HubUnavailable(str(error)) from error
    # Twilio's callbacks will say so too; the page shows it at once.
    local = {
        name: value for name, value in changes.items() if name in ("hold", "muted", "coaching")
    }
    if local:
        ConferenceParticipant.objects.filter(pk=participant.pk).update(**local)


def _remove(conference: Conference, participant: ConferenceParticipant) -> None:
    """Let a party go: a ringing one stops ringing, a connected one is hung up."""
    client = twilio_rest_client_for_a_page()
    try:
        if participant.joined_at is None:
            client.calls(participant.call_sid).update(status="canceled")
        else:
            client.conferences(conference.sid).participants(participant.call_sid).delete()
    except TwilioRestException as error:
        if error.status != 404:
            raise HubConflict(_reason(error)) from error
    except TwilioUnavailable as error:
        raise HubUnavailable(str(error)) from error
    ConferenceParticipant.objects.filter(pk=participant.pk, left_at__isnull=True).update(
        left_at=timezone.now()
    )


def _presented_number(conference: Conference) -> str:
    """What a colleague's or supervisor's softphone shows as calling: the customer."""
    family = conference.family
    if family is None:
        return ""
    if client_identity(family.from_number) is None:
        return family.from_number
    callee = family.children.exclude(to_number__startswith="client:").first()
    return callee.to_number if callee is not None else family.from_number


def _caller_id(conference: Conference, actor: Actor) -> str:
    """A caller ID Twilio accepts for calling a number: the number the customer called, or
    the agent's own."""
    family = conference.family
    if family is not None and client_identity(family.from_number) is None:
        return family.to_number
    agent = Agent.objects.filter(identity=actor.identity).first()
    return agent.caller_id if agent is not None else ""


def _reason(error: TwilioRestException) -> str:
    if error.status == 404:
        return PARTY_LEFT
    return f"Twilio refused: {error.msg}"[:200]


def _note(conference: Conference, actor: Actor, kind: HubActionKind, target: str) -> None:
    HubAction.objects.create(
        conference=conference,
        kind=kind,
        actor_id=actor.user_id,
        actor_identity=actor.identity,
        target=target[:128],
    )
