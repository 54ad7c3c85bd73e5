"""Reads of the conference hub: who is in a call now, an agent's current call, and the
family's timeline."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from calls.constants import TERMINAL_STATUSES, ConferenceEventKind, HubActionKind, PartyRole
from calls.models import Call, Conference, ConferenceEvent, ConferenceParticipant, HubAction
from calls.participant_labels import agent_label


def live_participants(conference: Conference) -> QuerySet[ConferenceParticipant]:
    """Parties in the call or ringing to join it: not left, and their leg not ended."""
    leg_ended = Call.objects.filter(sid=OuterRef("call_sid"), status__in=TERMINAL_STATUSES)
    return conference.participants.filter(left_at__isnull=True).exclude(Exists(leg_ended))


def conference_of_agent(identity: str) -> Conference | None:
    """The conference an agent is in now (the latest, should there be two)."""
    return (
        Conference.objects.filter(
            ended_at__isnull=True,
            participants__label=agent_label(identity),
            participants__left_at__isnull=True,
        )
        .select_related("family")
        .order_by("-created_at")
        .first()
    )


def party_state(participant: ConferenceParticipant) -> str:
    if participant.left_at is not None:
        return "left"
    if participant.joined_at is None:
        return "ringing"
    return "on-hold" if participant.hold else "talking"


def supervisor_mode(participant: ConferenceParticipant) -> str:
    if participant.coaching:
        return "whisper"
    return "listen" if participant.muted else "barge"


def hub_state(conference: Conference, *, identity: str) -> dict[str, object]:
    """The conference as the agent's page and the API show it."""
    parties = []
    for participant in live_participants(conference):
        party: dict[str, object] = {
            "call_sid": participant.call_sid,
            "label": participant.label,
            "role": participant.role,
            "identity": participant.identity,
            "state": party_state(participant),
            "muted": participant.muted,
            "since": participant.joined_at or participant.invited_at,
            "consulted": participant.consulted,
            "me": participant.label == agent_label(identity),
        }
        if participant.role == PartyRole.SUPERVISOR:
            party["mode"] = supervisor_mode(participant)
        parties.append(party)
    return {
        "conference": conference.friendly_name,
        "family": conference.family.sid if conference.family else None,
        "status": conference.status,
        "started_at": conference.started_at or conference.created_at,
        "parties": parties,
        "consulting": any(party["consulted"] for party in parties),
        "supervised": any(party["role"] == PartyRole.SUPERVISOR for party in parties),
    }


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str
    who: str
    detail: str


_EVENT_WORDS = {
    ConferenceEventKind.CONFERENCE_START: "Conference started",
    ConferenceEventKind.CONFERENCE_END: "Conference ended",
    ConferenceEventKind.PARTICIPANT_JOIN: "Joined",
    ConferenceEventKind.PARTICIPANT_LEAVE: "Left",
    ConferenceEventKind.PARTICIPANT_HOLD: "On hold",
    ConferenceEventKind.PARTICIPANT_UNHOLD: "Off hold",
    ConferenceEventKind.PARTICIPANT_MUTE: "Muted",
    ConferenceEventKind.PARTICIPANT_UNMUTE: "Unmuted",
    ConferenceEventKind.PARTICIPANT_MODIFY: "Changed",
}


def conference_timeline(conference: Conference) -> list[TimelineEntry]:
    """What happened in the conference (Twilio's events) and who asked for it (our actions),
    in time order; hold periods carry their length."""
    entries = [
        TimelineEntry(
            at=event.timestamp,
            what=_EVENT_WORDS.get(ConferenceEventKind(event.event), event.event)
            if event.event in ConferenceEventKind.values
            else event.event,
            who=event.label,
            detail=_event_detail(event),
        )
        for event in _timeline_events(conference)
    ]
    entries += [
        TimelineEntry(
            at=action.at,
            what=HubActionKind(action.kind).label.capitalize(),
            who=action.actor_identity,
            detail=action.target,
        )
        for action in HubAction.objects.filter(conference=conference)
    ]
    return sorted(entries, key=lambda entry: entry.at)


def _timeline_events(conference: Conference) -> QuerySet[ConferenceEvent]:
    """Events worth a line: not speech detection or announcements."""
    return (
        conference.events.exclude(event__startswith="participant-speech")
        .exclude(event__startswith="announcement")
        .order_by("sequence_number", "timestamp", "id")
    )


def _event_detail(event: ConferenceEvent) -> str:
    if event.event == ConferenceEventKind.CONFERENCE_END:
        return f"{event.reason} {event.label}".strip()
    if event.event == ConferenceEventKind.PARTICIPANT_LEAVE:
        return event.reason
    if event.coaching:
        return "coaching"
    return ""
