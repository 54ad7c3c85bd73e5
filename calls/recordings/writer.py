"""The one writer of recordings (calls_recording) and their callbacks (calls_recordingevent).

Recording status callbacks arrive late, twice, out of order and concurrently, and
reconciliation lists the same recordings from the REST API; every write is an upsert whose
merge rules live in SQL, so that any order converges on the same row: the status moves only
forward, a field once known is not blanked, and each delivery is stored once by its digest.
A leg not stored yet becomes a placeholder through the call table's own statement.
"""

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from twilio.rest.api.v2010.account.recording import RecordingInstance

from agents.models import Agent, PhoneNumber
from agents.selectors import policy_owner_of_leg
from calls.call_table import call_ensure_placeholder, call_mark_voicemail_left
from calls.constants import (
    KNOWN_RECORDING_STATUSES,
    RECORDING_SOURCE_MAX_LENGTH,
    RECORDING_STATUS_RANK,
    VOICEMAIL_RECORDING_SOURCE,
    RecordingKind,
    RecordingStatus,
)
from calls.deliveries.recordings import RecordingCallback
from calls.models import Call, Recording, RecordingEvent
from voiceproject.twilio_ids import parse_twilio_count

_RECORDING = Recording._meta.db_table
_EVENT = RecordingEvent._meta.db_table


def _rank(status: str) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for value, rank in RECORDING_STATUS_RANK.items())
    return f"CASE {status} {whens} ELSE -1 END"


_INCOMING_IS_FURTHER = f"{_rank('EXCLUDED.status')} > {_rank('r.status')}"
_UPSERT = " ".join(
    f"""
INSERT INTO {_RECORDING} AS r (
    sid, call_id, kind, source, status, channels, duration, started_at, error_code,
    voicemail_number_id, voicemail_agent_id, created_at, updated_at
) VALUES (
    %(sid)s, %(call_id)s, %(kind)s, %(source)s, %(status)s, %(channels)s, %(duration)s,
    %(started_at)s, %(error_code)s,
    (SELECT id FROM {PhoneNumber._meta.db_table} WHERE id = %(number_id)s),
    (SELECT id FROM {Agent._meta.db_table} WHERE id = %(agent_id)s),
    %(now)s, %(now)s
)
ON CONFLICT (sid) DO UPDATE SET
    kind = CASE WHEN EXCLUDED.kind = '{RecordingKind.VOICEMAIL}' THEN EXCLUDED.kind
        ELSE r.kind END,
    source = COALESCE(NULLIF(r.source, ''), EXCLUDED.source),
    status = CASE WHEN {_INCOMING_IS_FURTHER} THEN EXCLUDED.status ELSE r.status END,
    channels = COALESCE(r.channels, EXCLUDED.channels),
    duration = CASE WHEN {_INCOMING_IS_FURTHER} OR r.duration IS NULL
        THEN COALESCE(EXCLUDED.duration, r.duration) ELSE r.duration END,
    started_at = COALESCE(r.started_at, EXCLUDED.started_at),
    error_code = COALESCE(EXCLUDED.error_code, r.error_code),
    voicemail_number_id = COALESCE(r.voicemail_number_id, EXCLUDED.voicemail_number_id),
    voicemail_agent_id = COALESCE(r.voicemail_agent_id, EXCLUDED.voicemail_agent_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, kind, status""".split()
)
_INSERT_EVENT = f"""
INSERT INTO {_EVENT} (recording_id, status, parameters, delivery_digest, received_at)
VALUES (%(recording_id)s, %(status)s, %(parameters)s, %(delivery_digest)s, %(now)s)
ON CONFLICT (delivery_digest) DO NOTHING"""


@transaction.atomic
def recording_apply_callback(*, callback: RecordingCallback) -> None:
    """Record one recording status callback on its recording, and store it once as an event.

    Safe to repeat, in any order and concurrently; all or nothing is written.
    """
    call_id = call_ensure_placeholder(sid=callback.call_sid, account_sid=callback.account_sid)
    recording_id = _upsert(
        call_id=call_id,
        sid=callback.recording_sid,
        kind=callback.kind,
        source=callback.source,
        status=callback.status,
        channels=callback.channels,
        duration=callback.duration,
        started_at=callback.started_at,
        error_code=callback.error_code,
        number_id=callback.voicemail_number_id,
        agent_id=callback.voicemail_agent_id,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_EVENT,
            {
                "recording_id": recording_id,
                "status": callback.status,
                "parameters": connection.ops.adapt_json_value(callback.parameters, None),
                "delivery_digest": callback.delivery_digest,
                "now": connection.ops.adapt_datetimefield_value(timezone.now()),
            },
        )


@transaction.atomic
def recordings_upsert_from_rest(*, recordings: list[RecordingInstance]) -> int:
    """Upsert recordings as the REST API lists them; returns how many were written.

    A voicemail found this way belongs to the number or agent its call was made to.
    """
    for recording in recordings:
        call_id = call_ensure_placeholder(
            sid=recording.call_sid or "", account_sid=recording.account_sid or ""
        )
        source = str(recording.source or "")[:RECORDING_SOURCE_MAX_LENGTH]
        is_voicemail = source == VOICEMAIL_RECORDING_SOURCE
        owner = _voicemail_owner(call_id) if is_voicemail else None
        status = str(recording.status or "")
        _upsert(
            call_id=call_id,
            sid=recording.sid or "",
            kind=RecordingKind.VOICEMAIL if is_voicemail else RecordingKind.CALL,
            source=source,
            status=status if status in KNOWN_RECORDING_STATUSES else "",
            channels=recording.channels if recording.channels in (1, 2) else None,
            duration=parse_twilio_count(recording.duration or ""),
            started_at=recording.start_time,
            error_code=recording.error_code,
            number_id=owner.pk if isinstance(owner, PhoneNumber) else None,
            agent_id=owner.pk if isinstance(owner, Agent) else None,
        )
    return len(recordings)


def _voicemail_owner(call_id: int) -> PhoneNumber | Agent | None:
    leg = Call.objects.filter(id=call_id).values("from_number", "to_number").first()
    if leg is None:
        return None
    return policy_owner_of_leg(from_address=leg["from_number"], to_address=leg["to_number"])


def _upsert(*, call_id: int, **values: Any) -> int:
    """Write one recording; a completed voicemail marks its leg as having one."""
    adapt = connection.ops.adapt_datetimefield_value
    started_at: datetime | None = values.pop("started_at")
    parameters = values | {
        "call_id": call_id,
        "started_at": adapt(started_at),
        "now": adapt(timezone.now()),
    }
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, parameters)
        recording_id, kind, status = cursor.fetchone()
    if kind == RecordingKind.VOICEMAIL and status == RecordingStatus.COMPLETED:
        call_mark_voicemail_left(call_id=call_id)
    return int(recording_id)


def recording_mark_listened(*, recording_id: int) -> None:
    """Note that the voicemail's owner played it; the first time counts."""
    Recording.objects.filter(id=recording_id, listened_at__isnull=True).update(
        listened_at=timezone.now(), updated_at=timezone.now()
    )


def recording_mark_deleted(*, recording_id: int) -> None:
    """The media is gone at Twilio: keep the row, without a way to play it."""
    Recording.objects.filter(id=recording_id, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), deletion_error="", updated_at=timezone.now()
    )


def recording_note_deletion_failure(*, recording_id: int, error: str) -> None:
    """Keep why deleting at Twilio failed, for the admin; the next run tries again."""
    Recording.objects.filter(id=recording_id).update(
        deletion_attempts=F("deletion_attempts") + 1,
        deletion_error=error[:1000],
        updated_at=timezone.now(),
    )
