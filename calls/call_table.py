"""Every write Twilio's webhooks make to the call table goes through here.

Twilio may deliver a leg's callbacks late, twice, out of order or all at once, so each write
is an upsert whose result does not depend on the order: the status only moves forward (by
rank, then SequenceNumber, then Timestamp), the start time only moves earlier, and a field
once known is not blanked by a callback that lacks it.
"""

from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent
from calls.constants import STATUS_RANK, TERMINAL_STATUSES, CallStatus
from calls.models import Call, CallEvent
from calls.webhooks.callbacks import TwilioCallback
from voiceproject.twilio_ids import agent_identity_on_leg

_CALL = Call._meta.db_table
# The stored leg is aliased "c" in the upsert. Its status's rank, as in STATUS_RANK; the
# database's check constraint leaves only the terminal statuses for ELSE.
_STORED_RANK = (
    "CASE c.status "
    + " ".join(
        f"WHEN '{status}' THEN {rank}"
        for status, rank in STATUS_RANK.items()
        if status not in TERMINAL_STATUSES
    )
    + f" ELSE {STATUS_RANK[CallStatus.COMPLETED]} END"
)
# Whether the delivery is further along than what is stored: by rank, then SequenceNumber,
# then Timestamp.
_IS_NEWER = (
    "(%(rank)s, %(sequence)s, EXCLUDED.status_changed_at)"
    f" > ({_STORED_RANK}, COALESCE(c.sequence_number, -1), c.status_changed_at)"
)


def _newer_or_kept(column: str, new_value: str = "") -> str:
    return f"CASE WHEN {_IS_NEWER} THEN {new_value or 'EXCLUDED.' + column} ELSE c.{column} END"


def _keep_filled(column: str) -> str:
    return f"CASE c.{column} WHEN '' THEN EXCLUDED.{column} ELSE c.{column} END"


def _earliest(column: str) -> str:
    return (
        f"CASE WHEN c.{column} IS NULL OR EXCLUDED.{column} < c.{column}"
        f" THEN EXCLUDED.{column} ELSE c.{column} END"
    )


_EVENT = CallEvent._meta.db_table
_PLACEHOLDER_PARENT = f"""
INSERT INTO {_CALL} (
    sid, account_sid, direction, from_number, to_number, status, error_url, price_unit,
    created_at, updated_at
)
SELECT %(parent_sid)s, %(account_sid)s, '', '', '', '', '', '', %(now)s, %(now)s
WHERE %(parent_sid)s IS NOT NULL
ON CONFLICT (sid) DO"""


def _upsert_leg(parent_id: str) -> str:
    return f"""
INSERT INTO {_CALL} AS c (
    sid, parent_id, account_sid, direction, from_number, to_number, status, sequence_number,
    status_changed_at, start_time, answer_time, end_time, duration, agent_id, error_code,
    error_url, price_unit, created_at, updated_at
) VALUES (
    %(sid)s, {parent_id}, %(account_sid)s, %(direction)s, %(from_number)s, %(to_number)s,
    %(status)s, %(sequence_number)s, %(timestamp)s, %(start_time)s, %(answer_time)s,
    %(end_time)s, %(duration)s,
    (SELECT id FROM {Agent._meta.db_table} WHERE identity = %(agent_identity)s),
    %(error_code)s, %(error_url)s, '', %(now)s, %(now)s
)
ON CONFLICT (sid) DO UPDATE SET
    parent_id = COALESCE(c.parent_id, EXCLUDED.parent_id),
    account_sid = {_keep_filled("account_sid")},
    direction = {_keep_filled("direction")},
    from_number = {_keep_filled("from_number")},
    to_number = {_keep_filled("to_number")},
    agent_id = COALESCE(c.agent_id, EXCLUDED.agent_id),
    status = {_newer_or_kept("status")},
    sequence_number = {_newer_or_kept("sequence_number")},
    status_changed_at = {_newer_or_kept("status_changed_at")},
    end_time = {_newer_or_kept("end_time", "COALESCE(EXCLUDED.end_time, c.end_time)")},
    duration = {_newer_or_kept("duration", "COALESCE(EXCLUDED.duration, c.duration)")},
    start_time = {_earliest("start_time")},
    answer_time = {_earliest("answer_time")},
    error_code = COALESCE(EXCLUDED.error_code, c.error_code),
    error_url = {_keep_filled("error_url")},
    updated_at = EXCLUDED.updated_at
RETURNING id"""


def _insert_event(rows: str) -> str:
    return f"""
INSERT INTO {_EVENT} (
    call_id, status, sequence_number, timestamp, callback_source, parameters, delivery_digest,
    received_at
)
SELECT {rows}
ON CONFLICT (delivery_digest) DO NOTHING"""


_EVENT_VALUES = """%(status)s, %(sequence_number)s, %(timestamp)s, %(callback_source)s,
    %(parameters)s, %(delivery_digest)s, %(now)s"""

# PostgreSQL: the whole delivery in one statement, atomic by itself and one round trip. The
# parent upsert locks and returns an existing row, so a parent another delivery is inserting
# at this moment is waited for and linked, never missed.
# Whitespace squeezed: psycopg caches the conversion of statements up to 4 KiB only.
_RECORD_IN_ONE_STATEMENT = " ".join(
    f"""
WITH parent AS ({_PLACEHOLDER_PARENT} UPDATE SET sid = EXCLUDED.sid RETURNING id),
leg AS ({_upsert_leg("(SELECT id FROM parent)")})
{_insert_event("leg.id, " + _EVENT_VALUES + " FROM leg")}""".split()
)

# Elsewhere (SQLite): the same in three statements inside a transaction.
_RECORD_PLACEHOLDER_PARENT = _PLACEHOLDER_PARENT + " NOTHING"
_RECORD_LEG = _upsert_leg(f"(SELECT id FROM {_CALL} WHERE sid = %(parent_sid)s)")
# "WHERE true" lets SQLite read the ON CONFLICT that follows as the upsert clause.
_RECORD_EVENT = _insert_event("%(call_id)s, " + _EVENT_VALUES + " WHERE true")


def call_apply_callback(*, callback: TwilioCallback) -> None:
    """Record one request from Twilio on its leg and store it as a CallEvent, once.

    Serves the Voice URL, the fallback and status callbacks alike. A child whose parent is
    not known yet creates a placeholder parent for later callbacks to fill in. Safe to repeat
    and to run concurrently; all or nothing is written.
    """
    parameters = _statement_parameters(callback)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_IN_ONE_STATEMENT, parameters)
    else:
        _record_step_by_step(parameters)


# No savepoint: nothing here is retried on error, and the demo data calls this thousands of
# times inside one transaction.
@transaction.atomic(savepoint=False)
def _record_step_by_step(parameters: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_PLACEHOLDER_PARENT, parameters)
        cursor.execute(_RECORD_LEG, parameters)
        (call_id,) = cursor.fetchone()
        cursor.execute(_RECORD_EVENT, {**parameters, "call_id": call_id})


def _statement_parameters(callback: TwilioCallback) -> dict:
    adapt = connection.ops.adapt_datetimefield_value
    is_answer = callback.status == CallStatus.IN_PROGRESS
    return {
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
        "answer_time": adapt(callback.timestamp if is_answer else None),
        "end_time": adapt(callback.timestamp if callback.is_terminal else None),
        "duration": callback.call_duration if callback.is_terminal else None,
        "agent_identity": agent_identity_on_leg(
            direction=callback.direction,
            from_address=callback.from_address,
            to_address=callback.to_address,
        ),
        "error_code": callback.error_code,
        "error_url": callback.error_url,
        "callback_source": callback.callback_source,
        "parameters": connection.ops.adapt_json_value(callback.parameters, None),
        "delivery_digest": callback.delivery_digest,
        "now": adapt(timezone.now()),
    }
