"""Every write Twilio's webhooks make to the call table goes through here.

Twilio may deliver a leg's callbacks late, twice, out of order or all at once, so each write
is an upsert whose result does not depend on the order: the status only moves forward (by
rank, then SequenceNumber, then Timestamp), the start time only moves earlier, and a field
once known is not blanked by a callback that lacks it.
"""

from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent
from calls.callbacks import TwilioCallback
from calls.constants import STATUS_RANK, CallDirection, CallStatus
from calls.models import Call, CallEvent
from calls.twilio_values import client_identity

_CALL = Call._meta.db_table
_STORED_RANK = (
    f"CASE {_CALL}.status "
    + " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items() if status)
    + " ELSE -1 END"
)
# Whether the delivery being applied is further along than the status stored for the leg.
_IS_NEWER = f"""(
    %(rank)s > {_STORED_RANK}
    OR (%(rank)s = {_STORED_RANK} AND (
        %(sequence)s > COALESCE({_CALL}.sequence_number, -1)
        OR (%(sequence)s = COALESCE({_CALL}.sequence_number, -1)
            AND ({_CALL}.status_changed_at IS NULL
                 OR EXCLUDED.status_changed_at > {_CALL}.status_changed_at))
    ))
)"""


def _keep_filled(column: str) -> str:
    return f"CASE WHEN {_CALL}.{column} = '' THEN EXCLUDED.{column} ELSE {_CALL}.{column} END"


def _earliest(column: str) -> str:
    return (
        f"CASE WHEN EXCLUDED.{column} IS NOT NULL AND ({_CALL}.{column} IS NULL "
        f"OR EXCLUDED.{column} < {_CALL}.{column}) THEN EXCLUDED.{column} ELSE {_CALL}.{column} END"
    )


_UPSERT_LEG = f"""
INSERT INTO {_CALL} (
    sid, parent_id, account_sid, direction, from_number, to_number, status, sequence_number,
    status_changed_at, start_time, answer_time, end_time, duration, agent_id, error_code,
    error_url, price_unit, created_at, updated_at
) VALUES (
    %(sid)s, (SELECT id FROM {_CALL} WHERE sid = %(parent_sid)s), %(account_sid)s,
    %(direction)s, %(from_number)s, %(to_number)s, %(status)s, %(sequence_number)s,
    %(timestamp)s, %(start_time)s, %(answer_time)s, %(end_time)s, %(duration)s,
    (SELECT id FROM {Agent._meta.db_table} WHERE identity = %(agent_identity)s),
    %(error_code)s, %(error_url)s, '', %(now)s, %(now)s
)
ON CONFLICT (sid) DO UPDATE SET
    parent_id = COALESCE({_CALL}.parent_id, EXCLUDED.parent_id),
    account_sid = {_keep_filled("account_sid")},
    direction = {_keep_filled("direction")},
    from_number = {_keep_filled("from_number")},
    to_number = {_keep_filled("to_number")},
    agent_id = COALESCE({_CALL}.agent_id, EXCLUDED.agent_id),
    status = CASE WHEN {_IS_NEWER} THEN EXCLUDED.status ELSE {_CALL}.status END,
    sequence_number = CASE WHEN {_IS_NEWER}
        THEN EXCLUDED.sequence_number ELSE {_CALL}.sequence_number END,
    status_changed_at = CASE WHEN {_IS_NEWER}
        THEN EXCLUDED.status_changed_at ELSE {_CALL}.status_changed_at END,
    end_time = CASE WHEN {_IS_NEWER}
        THEN COALESCE(EXCLUDED.end_time, {_CALL}.end_time) ELSE {_CALL}.end_time END,
    duration = CASE WHEN {_IS_NEWER}
        THEN COALESCE(EXCLUDED.duration, {_CALL}.duration) ELSE {_CALL}.duration END,
    start_time = {_earliest("start_time")},
    answer_time = {_earliest("answer_time")},
    error_code = COALESCE(EXCLUDED.error_code, {_CALL}.error_code),
    error_url = {_keep_filled("error_url")},
    updated_at = EXCLUDED.updated_at
RETURNING id
"""


@transaction.atomic
def call_apply_callback(*, callback: TwilioCallback) -> int:
    """Record one request from Twilio on its leg and store it as a CallEvent, once.

    Serves the Voice URL, the fallback and status callbacks alike. A child whose parent is
    not known yet creates a placeholder parent for later callbacks to fill in. Returns the
    leg's id. Three statements, whatever the table holds; safe under concurrent deliveries.
    """
    now = timezone.now()
    if callback.parent_call_sid:
        Call.objects.bulk_create(
            [Call(sid=callback.parent_call_sid, account_sid=callback.account_sid)],
            ignore_conflicts=True,
        )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_LEG,
            {
                "sid": callback.call_sid,
                "parent_sid": callback.parent_call_sid,
                "account_sid": callback.account_sid,
                "direction": callback.direction,
                "from_number": callback.from_address,
                "to_number": callback.to_address,
                "status": callback.status,
                "rank": STATUS_RANK[callback.status],
                "sequence": -1 if callback.sequence_number is None else callback.sequence_number,
                "sequence_number": callback.sequence_number,
                "timestamp": adapt(callback.timestamp),
                "start_time": adapt(callback.start_time_bound),
                "answer_time": adapt(
                    callback.timestamp if callback.status == CallStatus.IN_PROGRESS else None
                ),
                "end_time": adapt(callback.timestamp if callback.is_terminal else None),
                "duration": callback.call_duration if callback.is_terminal else None,
                "agent_identity": _agent_identity(callback),
                "error_code": callback.error_code,
                "error_url": callback.error_url,
                "now": adapt(now),
            },
        )
        (call_id,) = cursor.fetchone()
    CallEvent.objects.bulk_create(
        [
            CallEvent(
                call_id=call_id,
                status=callback.status,
                sequence_number=callback.sequence_number,
                timestamp=callback.timestamp,
                callback_source=callback.callback_source,
                parameters=callback.parameters,
                delivery_digest=callback.delivery_digest,
                received_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    return call_id


def _agent_identity(callback: TwilioCallback) -> str | None:
    """Name our client on this leg: the one dialled on a <Dial> child, else the caller."""
    addresses = [callback.from_address, callback.to_address]
    if callback.direction == CallDirection.OUTBOUND_DIAL:
        addresses.reverse()
    for address in addresses:
        identity = client_identity(address)
        if identity is not None:
            return identity
    return None
