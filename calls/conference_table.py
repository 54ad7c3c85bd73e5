"""The one writer of conferences (calls_conference and its events and participants), the
call table's sibling.

Twilio's conference callbacks may arrive late, twice, out of order or at once. Each is kept
once (a retry repeats every parameter: the same digest); the conference's state and each
participant's history are then worked out again from all of its events in Twilio's order
(SequenceNumber, then Timestamp), under a lock on the conference row, so the result does not
depend on the order of arrival. A conference holds tens of events, not thousands.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from calls.call_table import call_ensure_placeholder
from calls.constants import (
    ConferenceEventKind,
    ConferenceStatus,
    HubEndedBy,
    PartyRole,
)
from calls.deliveries.conferences import ConferenceCallback
from calls.models import Call, Conference, ConferenceEvent, ConferenceParticipant
from calls.participant_labels import family_of_hub_name, role_and_identity


def conference_begin_move(*, family: Call, name: str, record: bool) -> Conference | None:
    """Note that the hub is moving this family's legs into its conference; None when a move
    was begun already (a retried or concurrent answer), so the legs are moved once."""
    try:
        with transaction.atomic():
            return Conference.objects.create(
                friendly_name=name, family=family, status=ConferenceStatus.MOVING, record=record
            )
    except IntegrityError:
        return None


def conference_move_failed(*, conference: Conference) -> None:
    """The legs could not be moved: they stay bridged by their <Dial>."""
    Conference.objects.filter(pk=conference.pk, status=ConferenceStatus.MOVING).update(
        status=ConferenceStatus.FAILED, ended_at=timezone.now(), updated_at=timezone.now()
    )


def conference_note_invite(
    *, conference: Conference, call_sid: str, label: str, at: datetime
) -> None:
    """A leg the hub asked Twilio to add: a participant from now on, ringing until it joins."""
    role, identity = role_and_identity(label)
    ConferenceParticipant.objects.bulk_create(
        [
            ConferenceParticipant(
                conference=conference,
                call_sid=call_sid,
                label=label,
                role=role,
                identity=identity,
                invited_at=at,
            )
        ],
        ignore_conflicts=True,
    )
    ConferenceParticipant.objects.filter(
        conference=conference, call_sid=call_sid, invited_at__isnull=True
    ).update(invited_at=at)


def conference_count_transfer(*, conference: Conference) -> None:
    Conference.objects.filter(pk=conference.pk).update(
        transfers=F("transfers") + 1, updated_at=timezone.now()
    )


def conference_apply_callback(*, callback: ConferenceCallback) -> None:
    """Keep the event once and bring the conference and its participants up to date."""
    with transaction.atomic():
        conference = _locked_conference(callback)
        _, created = ConferenceEvent.objects.get_or_create(
            conference=conference,
            delivery_digest=callback.delivery_digest,
            defaults={
                "event": callback.event,
                "sequence_number": callback.sequence_number,
                "timestamp": callback.timestamp,
                "call_sid": callback.call_sid or "",
                "label": callback.label,
                "hold": callback.hold,
                "muted": callback.muted,
                "coaching": callback.coaching,
                "reason": callback.reason,
                "parameters": callback.parameters,
            },
        )
        if created:
            _refold(conference)


def _locked_conference(callback: ConferenceCallback) -> Conference:
    """The conference row, made if this is its first word, locked until the transaction
    ends: one callback of a conference at a time works out its state."""
    family_sid = family_of_hub_name(callback.friendly_name)
    # The family's parent leg, a placeholder until its own callbacks come, as a child's
    # callback makes one: a conference callback may come first.
    family_id = (
        call_ensure_placeholder(sid=family_sid, account_sid=callback.account_sid)
        if family_sid
        else None
    )
    name = callback.friendly_name or callback.conference_sid
    Conference.objects.bulk_create(
        [
            Conference(
                friendly_name=name,
                sid=callback.conference_sid,
                family_id=family_id,
                status=ConferenceStatus.INIT,
            )
        ],
        ignore_conflicts=True,
    )
    conference = Conference.objects.select_for_update().get(friendly_name=name)
    if conference.sid is None or conference.family_id is None:
        conference.sid = conference.sid or callback.conference_sid
        conference.family_id = conference.family_id or family_id
        conference.save(update_fields=["sid", "family", "updated_at"])
    return conference


@dataclass
class _Party:
    call_sid: str
    label: str = ""
    joined_at: datetime | None = None
    left_at: datetime | None = None
    reason_left: str = ""
    hold: bool = False
    hold_since: datetime | None = None
    hold_seconds: float = 0
    holds: int = 0
    muted: bool = False
    coaching: bool = False

    def take_flags(self, event: ConferenceEvent) -> None:
        if event.label:
            self.label = event.label
        if event.muted is not None:
            self.muted = event.muted
        if event.coaching is not None:
            self.coaching = event.coaching

    def held(self, at: datetime) -> None:
        if self.hold_since is None:
            self.hold_since = at
            self.holds += 1
        self.hold = True

    def resumed(self, at: datetime) -> None:
        if self.hold_since is not None:
            self.hold_seconds += max(0.0, (at - self.hold_since).total_seconds())
            self.hold_since = None
        self.hold = False


@dataclass
class _State:
    status: str = ConferenceStatus.INIT
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason_ended: str = ""
    ending_call_sid: str = ""
    ending_label: str = ""
    parties: dict[str, _Party] = field(default_factory=dict)


def _fold(events: Iterable[ConferenceEvent]) -> _State:
    """The conference and its participants after these events, in Twilio's order."""
    state = _State()
    for event in events:
        kind = event.event
        if kind == ConferenceEventKind.CONFERENCE_START:
            state.started_at = event.timestamp
            state.status = ConferenceStatus.IN_PROGRESS
        elif kind == ConferenceEventKind.CONFERENCE_END:
            state.ended_at = event.timestamp
            state.status = ConferenceStatus.COMPLETED
            state.reason_ended = event.reason
            state.ending_call_sid = event.parameters.get("CallSidEndingConference", "")[:34]
            state.ending_label = event.parameters.get("ParticipantLabelEndingConference", "")[:128]
        elif event.call_sid:
            _fold_participant(state, event)
    for party in state.parties.values():
        closing = party.left_at or state.ended_at
        if party.hold_since is not None and closing is not None:
            party.resumed(closing)
            party.hold = False
    return state


def _fold_participant(state: _State, event: ConferenceEvent) -> None:
    party = state.parties.setdefault(event.call_sid, _Party(call_sid=event.call_sid))
    party.take_flags(event)
    kind = event.event
    if kind == ConferenceEventKind.PARTICIPANT_JOIN:
        party.joined_at = party.joined_at or event.timestamp
        if event.hold:
            party.held(event.timestamp)
    elif kind == ConferenceEventKind.PARTICIPANT_LEAVE:
        party.left_at = event.timestamp
        party.reason_left = event.reason
    elif kind == ConferenceEventKind.PARTICIPANT_HOLD:
        party.held(event.timestamp)
    elif kind == ConferenceEventKind.PARTICIPANT_UNHOLD:
        party.resumed(event.timestamp)


def _refold(conference: Conference) -> None:
    state = _fold(conference.events.order_by("sequence_number", "timestamp", "id"))
    existing = {participant.call_sid: participant for participant in conference.participants.all()}
    for party in state.parties.values():
        participant = existing.get(party.call_sid) or ConferenceParticipant(
            conference=conference, call_sid=party.call_sid
        )
        label = party.label or participant.label
        participant.label = label
        participant.role, participant.identity = role_and_identity(label)
        participant.joined_at = party.joined_at
        participant.left_at = party.left_at
        participant.reason_left = party.reason_left
        participant.hold = party.hold
        participant.hold_since = party.hold_since
        participant.hold_seconds = round(party.hold_seconds)
        participant.holds = party.holds
        participant.muted = party.muted
        participant.coaching = party.coaching
        participant.save()
    labels = {call_sid: p.label for call_sid, p in existing.items()} | {
        call_sid: p.label for call_sid, p in state.parties.items() if p.label
    }
    # Events are Twilio's word, and every one is folded: they outrank a move noted as
    # failed (its REST request may have timed out after Twilio had done it). An end only
    # the REST API told (conference_close_from_rest) stands until its event comes.
    closed_by_rest = conference.status == ConferenceStatus.COMPLETED and state.ended_at is None
    if not closed_by_rest:
        conference.status = state.status
        conference.ended_at = state.ended_at
    conference.started_at = state.started_at
    if not closed_by_rest:
        conference.reason_ended = state.reason_ended[:128]
        conference.ending_call_sid = state.ending_call_sid
        conference.ending_label = state.ending_label or labels.get(state.ending_call_sid, "")
        conference.ended_by = _ended_by(conference) if state.ended_at else ""
    held = [
        party
        for party in state.parties.values()
        if role_and_identity(party.label)[0] != PartyRole.SUPERVISOR
    ]
    conference.hold_seconds = round(sum(party.hold_seconds for party in held))
    conference.holds = sum(party.holds for party in held)
    conference.save()


def _ended_by(conference: Conference) -> str:
    """Who ended the call: the side whose leaving ended the conference, or the system (the
    API, a transfer nobody answered, Twilio)."""
    role, _ = role_and_identity(conference.ending_label)
    if conference.ending_label and role == PartyRole.CUSTOMER:
        return HubEndedBy.CUSTOMER
    if conference.ending_label and role in (PartyRole.AGENT, PartyRole.SUPERVISOR):
        return HubEndedBy.AGENT
    return HubEndedBy.SYSTEM


def conference_close_from_rest(
    *, conference: Conference, ended_at: datetime, reason: str, ending_call_sid: str
) -> None:
    """Twilio's REST API says the conference ended, and its end event never came: close it,
    and every participant not seen leaving, at its end."""
    with transaction.atomic():
        locked = Conference.objects.select_for_update().get(pk=conference.pk)
        if locked.ended_at is not None:
            return
        ending_label = (
            locked.participants.filter(call_sid=ending_call_sid)
            .values_list("label", flat=True)
            .first()
            or ""
        )
        locked.status = ConferenceStatus.COMPLETED
        locked.ended_at = ended_at
        locked.reason_ended = reason[:128]
        locked.ending_call_sid = ending_call_sid[:34]
        locked.ending_label = ending_label
        locked.ended_by = _ended_by(locked)
        locked.save()
        locked.participants.filter(left_at__isnull=True).update(left_at=ended_at)


def conference_note_gone(*, conference: Conference, call_sids: set[str], at: datetime) -> int:
    """Participants Twilio no longer lists (their leave event never came) have left."""
    return (
        conference.participants.filter(left_at__isnull=True, joined_at__isnull=False)
        .exclude(call_sid__in=call_sids)
        .update(left_at=at, reason_left="not in Twilio's list")
    )
