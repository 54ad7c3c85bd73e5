"""The one writer of the call table (calls_call) and its deliveries (calls_callevent).

Two sources describe the same legs: Twilio's webhooks, one delivery at a time, and the REST
API, a page at a time during reconciliation. Either may arrive late, twice, out of order or
concurrently with the other, so every write is an upsert whose merge rules live in SQL and
whose result does not depend on the order. The two merge policies sit side by side below
(WEBHOOK_MERGE and REST_MERGE), as SQL that PostgreSQL and SQLite read alike. The statements
are built on first use, once per database vendor (call_table_statements), with the columns
Call._meta has then: a field the database can fill by itself (nullable, or with a db_default)
needs no change here, and one with only a model default gets that default.

The family's kind and the facts its outcome depends on (calls.family_facts) are kept on the
parent: a parent's own delivery says its kind, and each child leg's delivery merges what it
shows (FAMILY_MERGE) into its parent in the same statement that makes or finds that parent.
Each merge only moves one way (a kind once known is kept, the dial result only rises, the
first answer only gets earlier), so the facts do not depend on the order legs arrive in.
"""

import functools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import NOT_PROVIDED, Case, F, Field, JSONField, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from twilio.rest.api.v2010.account.call import CallInstance

from agents.models import Agent
from calls.constants import (
    ADDRESS_MAX_LENGTH,
    ANSWERED_DIAL_STATUSES,
    KNOWN_DIRECTIONS,
    KNOWN_STATUSES,
    STATUS_RANK,
    CallStatus,
    DialResult,
)
from calls.deliveries.calls import TwilioCallback
from calls.family_facts import (
    dial_result_of_status,
    kind_seen_from_child,
    leg_answer_time,
    parent_kind,
)
from calls.models import Call, CallEvent
from voiceproject.prepared_statements import PreparedStatement, cast_type
from voiceproject.twilio_ids import agent_identity_on_leg, parse_twilio_count

logger = logging.getLogger(__name__)

_CALL = Call._meta.db_table
_EVENT = CallEvent._meta.db_table


def _call_fields() -> dict[str, Field[Any, Any]]:
    """Every column of a leg but the id, by name, as Call has them now."""
    return {field.column: field for field in Call._meta.concrete_fields if not field.primary_key}


def _filled_by_database(field: Field[Any, Any]) -> bool:
    """Whether leaving the column out of an INSERT stores what the model would store."""
    return field.db_default is not NOT_PROVIDED or (field.null and not field.has_default())


def insert_columns(*, written: Iterable[str]) -> list[str]:
    """The columns an INSERT of a leg names: those written, and those only the model fills."""
    return [
        column
        for column, field in _call_fields().items()
        if column in written or not _filled_by_database(field)
    ]


def defaulted_columns(*, written: Iterable[str]) -> tuple[str, ...]:
    """The columns an INSERT names but does not write: they get the model's default."""
    return tuple(column for column in insert_columns(written=written) if column not in written)


def _defaulted_fields(*writes: Iterable[str]) -> tuple[Field[Any, Any], ...]:
    """The fields that INSERTs writing these columns name but do not write, each once."""
    defaulted = {column for written in writes for column in defaulted_columns(written=written)}
    return tuple(field for column, field in _call_fields().items() if column in defaulted)


def _prefixed_defaults(fields: Iterable[Field[Any, Any]]) -> dict[str, Any]:
    """Each field's model default as stored, named default__<column>; evaluated at every
    write, since a default may be a callable."""
    return {
        f"default__{field.column}": field.get_db_prep_save(field.get_default(), connection)
        for field in fields
    }


# The stored leg is aliased "c" in every upsert, the incoming one is EXCLUDED.
def _status_rank(status: str) -> str:
    """How far along a status is, as in STATUS_RANK. The check constraint on status leaves
    only the top rank (the terminal statuses) for ELSE."""
    top_rank = max(STATUS_RANK.values())
    whens = " ".join(
        f"WHEN '{status_value}' THEN {rank}"
        for status_value, rank in STATUS_RANK.items()
        if rank != top_rank
    )
    return f"CASE {status} {whens} ELSE {top_rank} END"


# Our agent on a leg, found by the client identity on it (agent_identity_on_leg); NULL if none.
def _agent_id(identity: str) -> str:
    return f"(SELECT id FROM {Agent._meta.db_table} WHERE identity = {identity})"


def _agent_join(identity: str) -> str:
    """The same, for many legs at once: a join instead of one lookup per leg."""
    return f"LEFT JOIN {Agent._meta.db_table} AS agent ON agent.identity = {identity}"


# Families have two levels: a parent (the root) and its children. A leg that names a parent
# which is itself a child joins that child's root family; the trigger of migration
# 0003_family_two_levels refuses any other write that would make a deeper chain or a cycle.
def _family_root(row: str) -> str:
    return f"COALESCE({row}.parent_id, {row}.id)"


def _family_root_of(sid: str) -> str:
    return f"(SELECT {_family_root(_CALL)} FROM {_CALL} WHERE sid = {sid})"


def _parent_if_allowed(merged: str) -> str:
    """The merged parent, unless it is the leg itself (the root of a family that the leg
    heads) or the leg heads a family already: such a leg keeps what it has. Children are
    looked for only when the parent would change, which it rarely does."""
    return (
        f"CASE WHEN {merged} IS NOT DISTINCT FROM c.parent_id"
        f" OR EXCLUDED.parent_id = c.id"
        f" OR EXISTS (SELECT 1 FROM {_CALL} AS child WHERE child.parent_id = c.id)"
        f" THEN c.parent_id ELSE {merged} END"
    )


# Merge expressions, column by column.
def _stored_if_set(column: str) -> str:
    return f"COALESCE(c.{column}, EXCLUDED.{column})"


def _stored_if_filled(column: str) -> str:
    return f"COALESCE(NULLIF(c.{column}, ''), EXCLUDED.{column})"


def _incoming_if_set(column: str) -> str:
    return f"COALESCE(EXCLUDED.{column}, c.{column})"


def _incoming_if_filled(column: str) -> str:
    return f"COALESCE(NULLIF(EXCLUDED.{column}, ''), c.{column})"


# CASE rather than LEAST and GREATEST, which SQLite lacks (or reads otherwise for NULLs).
def _earliest(column: str) -> str:
    """The earlier of two values, either of them NULL or both, as PostgreSQL's LEAST."""
    return (
        f"CASE WHEN c.{column} IS NULL OR EXCLUDED.{column} < c.{column}"
        f" THEN EXCLUDED.{column} ELSE c.{column} END"
    )


# A start from Twilio's clock (a Timestamp, the REST API) outranks one from ours (a request
# without a Timestamp), whichever is earlier: our clock may run ahead of Twilio's or behind.
# Between two starts from the same clock, the earlier one wins.
_INCOMING_START_WINS = (
    "EXCLUDED.start_time IS NOT NULL AND (c.start_time IS NULL"
    " OR (EXCLUDED.start_time_from_twilio AND NOT c.start_time_from_twilio)"
    " OR (EXCLUDED.start_time_from_twilio = c.start_time_from_twilio"
    " AND EXCLUDED.start_time < c.start_time))"
)


def _if_better_start(column: str) -> str:
    return f"CASE WHEN {_INCOMING_START_WINS} THEN EXCLUDED.{column} ELSE c.{column} END"


def _largest(column: str) -> str:
    """The larger of two values, neither NULL."""
    return f"CASE WHEN EXCLUDED.{column} > c.{column} THEN EXCLUDED.{column} ELSE c.{column} END"


# A delivery is newer than the stored state by status rank, then SequenceNumber, then
# Timestamp: webhooks carry all three. The delivery's rank and sequence come as parameters.
_DELIVERY_IS_NEWER = (
    "(%(rank)s, %(sequence)s, EXCLUDED.status_changed_at)"
    f" > ({_status_rank('c.status')}, COALESCE(c.sequence_number, -1), c.status_changed_at)"
)
# REST knows no SequenceNumber: its status applies unless the stored one is further along.
# Terminal statuses share the top rank, so REST's final word replaces the webhooks' one.
_REST_STATUS_APPLIES = f"{_status_rank('EXCLUDED.status')} >= {_status_rank('c.status')}"


def _if_newer_delivery(column: str, incoming: str = "") -> str:
    incoming = incoming or f"EXCLUDED.{column}"
    return f"CASE WHEN {_DELIVERY_IS_NEWER} THEN {incoming} ELSE c.{column} END"


# How each column of a stored leg merges with an incoming one. Webhooks: the status moves
# only forward, the start time only to Twilio's clock or earlier on the same clock, and a
# field once known is not blanked. REST, the source of truth: it wins for every field it
# knows, the status still moves only forward.
WEBHOOK_MERGE = {
    "parent_id": _parent_if_allowed(_stored_if_set("parent_id")),
    "kind": _incoming_if_filled("kind"),
    "account_sid": _stored_if_filled("account_sid"),
    "direction": _stored_if_filled("direction"),
    "from_number": _stored_if_filled("from_number"),
    "to_number": _stored_if_filled("to_number"),
    "agent_id": _stored_if_set("agent_id"),
    "status": _if_newer_delivery("status"),
    "sequence_number": _if_newer_delivery("sequence_number"),
    "status_changed_at": _if_newer_delivery("status_changed_at"),
    "start_time": _if_better_start("start_time"),
    "start_time_from_twilio": _if_better_start("start_time_from_twilio"),
    "answer_time": _earliest("answer_time"),
    "end_time": _if_newer_delivery("end_time", _incoming_if_set("end_time")),
    "duration": _if_newer_delivery("duration", _incoming_if_set("duration")),
    "error_code": _incoming_if_set("error_code"),
    "error_url": _stored_if_filled("error_url"),
}
REST_MERGE = {
    "parent_id": _parent_if_allowed(_incoming_if_set("parent_id")),
    "kind": _incoming_if_filled("kind"),
    "account_sid": _incoming_if_filled("account_sid"),
    "direction": _incoming_if_filled("direction"),
    "from_number": _incoming_if_filled("from_number"),
    "to_number": _incoming_if_filled("to_number"),
    "agent_id": _incoming_if_set("agent_id"),
    "status": f"CASE WHEN {_REST_STATUS_APPLIES} THEN EXCLUDED.status ELSE c.status END",
    "status_changed_at": f"CASE WHEN {_REST_STATUS_APPLIES} AND EXCLUDED.status <> c.status"
    " THEN EXCLUDED.status_changed_at ELSE c.status_changed_at END",
    "start_time": _incoming_if_set("start_time"),
    "start_time_from_twilio": "EXCLUDED.start_time_from_twilio OR c.start_time_from_twilio",
    "end_time": _incoming_if_set("end_time"),
    "duration": _incoming_if_set("duration"),
    "price": _incoming_if_set("price"),
    "price_unit": _incoming_if_filled("price_unit"),
}


# How what a child leg shows about its family (the incoming placeholder parent) merges into
# the stored parent, from webhooks and REST alike: a parent's own kind is never replaced, a
# better dial result replaces a worse one, the first answer is kept, and so is the agent who
# answered (Twilio hangs up the other legs of a ring-all dial when one answers).
FAMILY_MERGE = {
    "kind": _stored_if_filled("kind"),
    "dial_result": _largest("dial_result"),
    "child_answer_time": _earliest("child_answer_time"),
    "answered_by_id": _stored_if_set("answered_by_id"),
}
_FAMILY_COLUMNS = tuple(FAMILY_MERGE)
# The parent's own answer is its first child's too: Twilio sends a parent that <Dial>
# connects no `answered` callback (and our <Dial> action, which says in-progress, comes when
# the call is over), so the placeholder carries the child's answer as its answer_time.
_PARENT_ANSWER = {"answer_time": _earliest("answer_time")}


def _merge_family_facts(*, only_when_changed: bool) -> str:
    """ON CONFLICT clause merging a placeholder parent's facts into the stored parent.

    `only_when_changed` leaves a parent whose facts would not change unwritten (an unchanged
    reconciliation writes nothing); webhooks need the row back in every case.
    """
    merge = FAMILY_MERGE | _PARENT_ANSWER
    assignments = ", ".join(f"{column} = {merged}" for column, merged in merge.items())
    clause = f"ON CONFLICT (sid) DO UPDATE SET {assignments}"
    if only_when_changed:
        clause += ", updated_at = EXCLUDED.updated_at WHERE " + " OR ".join(
            f"({merged}) IS DISTINCT FROM c.{column}" for column, merged in merge.items()
        )
    return clause


def _child_family_facts(
    *,
    status: str,
    at: datetime | None,
    duration: int | None,
    from_address: str,
    to_address: str,
    agent_identity: str | None,
) -> dict[str, Any]:
    """What one child leg shows about its family, by column of the parent (FAMILY_MERGE),
    with the identity of the agent who answered in place of the agent's id."""
    answered_at = leg_answer_time(status=status, at=at, duration=duration)
    return {
        "kind": kind_seen_from_child(from_address=from_address, to_address=to_address),
        "dial_result": dial_result_of_status(status),
        "child_answer_time": answered_at,
        "answered_by": agent_identity if answered_at is not None else None,
    }


def _upsert(*, values: dict[str, str], rows: str, merge: dict[str, str]) -> str:
    """INSERT legs (`values` maps column -> SQL, `rows` formats the SQL), or merge each into
    the stored one."""
    return f"""
INSERT INTO {_CALL} AS c ({", ".join(values)}) {rows.format(", ".join(values.values()))}
ON CONFLICT (sid) DO UPDATE SET
    {", ".join(f"{column} = {merged}" for column, merged in merge.items())},
    updated_at = EXCLUDED.updated_at"""


def _leg_values(*, written: dict[str, str], default: Callable[[str], str]) -> dict[str, str]:
    """Every column an INSERT names (column -> SQL): written ones, and model defaults."""
    return {
        column: written[column] if column in written else default(column)
        for column in insert_columns(written=written)
    }


# A parent known only because a child named it: its SID, the child's account, the times, and
# what the child shows about the family, with the child's answer as the parent's.
_PLACEHOLDER_WRITTEN = (
    *("sid", "account_sid", "created_at", "updated_at"),
    *_FAMILY_COLUMNS,
    *_PARENT_ANSWER,
)


def _placeholder_parent(*, value: Callable[[str], str], default: Callable[[str], str]) -> str:
    written = {column: value(column) for column in _PLACEHOLDER_WRITTEN}
    values = _leg_values(written=written, default=default)
    return f"INSERT INTO {_CALL} AS c ({', '.join(values)}) SELECT {', '.join(values.values())}"


# ----- Webhooks: one delivery, one leg, one CallEvent -----

_WEBHOOK_COLUMNS = (
    *["sid", "account_sid", "direction", "from_number", "to_number", "status", "kind"],
    *["sequence_number", "status_changed_at", "start_time", "start_time_from_twilio"],
    *["answer_time", "end_time", "duration", "error_code", "error_url"],
    *["created_at", "updated_at"],
)


def _webhook_parameter(column: str) -> str:
    return f"%({column})s"


def _webhook_default(column: str) -> str:
    return f"%(default__{column})s"


def _webhook_leg(parent_id: str) -> str:
    written = {
        **{column: _webhook_parameter(column) for column in _WEBHOOK_COLUMNS},
        "parent_id": parent_id,
        "agent_id": _agent_id("%(agent_identity)s"),
    }
    values = _leg_values(written=written, default=_webhook_default)
    return _upsert(values=values, rows="VALUES ({})", merge=WEBHOOK_MERGE) + " RETURNING id"


def _webhook_placeholder_value(column: str) -> str:
    if column == "sid":
        return "%(parent_sid)s"
    if column == "answer_time":
        return "%(f_child_answer_time)s"
    if column == "answered_by_id":
        return _agent_id("%(f_answered_by)s")
    if column in _FAMILY_COLUMNS:
        return f"%(f_{column})s"
    return _webhook_parameter(column)


def _webhook_placeholder_insert() -> str:
    return (
        _placeholder_parent(value=_webhook_placeholder_value, default=_webhook_default)
        + " WHERE %(parent_sid)s IS NOT NULL "
    )


def _webhook_placeholder_parent() -> str:
    return _webhook_placeholder_insert() + _merge_family_facts(only_when_changed=False)


# What a placeholder made for anything but a child leg shows about its family: nothing.
_NO_FAMILY_FACTS = {
    "f_kind": "",
    "f_dial_result": DialResult.NONE,
    "f_child_answer_time": None,
    "f_answered_by": None,
}


def _insert_event(rows: str) -> str:
    return f"""
INSERT INTO {_EVENT} (
    call_id, status, sequence_number, timestamp, callback_source, parameters, delivery_digest,
    received_at
)
SELECT {rows}
ON CONFLICT (delivery_digest) DO NOTHING"""


_EVENT_VALUES = """%(status)s, %(sequence_number)s, %(status_changed_at)s, %(callback_source)s,
    %(parameters)s, %(delivery_digest)s, %(created_at)s"""


def _record_in_one_statement() -> str:
    """PostgreSQL: the whole delivery in one statement, atomic by itself and one round trip.

    The parent upsert locks and returns an existing row, so a parent another delivery is
    inserting at this moment is waited for and linked, never missed.
    """
    return " ".join(
        f"""
WITH parent AS ({_webhook_placeholder_parent()} RETURNING id, parent_id),
leg AS ({_webhook_leg(f"(SELECT {_family_root('parent')} FROM parent)")})
{_insert_event("leg.id, " + _EVENT_VALUES + " FROM leg")}""".split()
    )


def _parameter_type(name: str, fields: dict[str, Field[Any, Any]]) -> str:
    """The SQL type of a parameter of the webhook's statement, by name: a leg's or an event's
    column (`fields`), a prefixed one (default__, f_ for family facts), or one of the lookups."""
    column = name.removeprefix("default__").removeprefix("f_")
    if column in ("parent_sid", "agent_identity", "answered_by"):
        return "text"  # a SID or an agent's identity, looked up
    if column in ("rank", "sequence"):
        return "integer"
    return cast_type(fields[column].db_type(connection) or "text")


def _record_prepared() -> PreparedStatement:
    """_record_in_one_statement, parsed and planned once per connection: that cost as much as
    running it (see voiceproject.prepared_statements)."""
    fields = {field.column: field for field in CallEvent._meta.concrete_fields} | _call_fields()
    return PreparedStatement.from_named(
        _record_in_one_statement(), lambda name: _parameter_type(name, fields)
    )


def call_apply_callback(*, callback: TwilioCallback) -> None:
    """Record one request from Twilio on its leg and store it as a CallEvent, once.

    Serves the Voice URL, the fallback and status callbacks alike. A child whose parent is
    not known yet creates a placeholder parent for later callbacks to fill in. Safe to repeat
    and to run concurrently; all or nothing is written.
    """
    statements = call_table_statements()
    parameters = _callback_parameters(callback, defaulted=statements.webhook_defaulted)
    if statements.record_prepared is not None:
        statements.record_prepared.execute(parameters)
    else:
        _record_step_by_step(statements, parameters)


# No savepoint: nothing here is retried on error, and the demo data calls this thousands of
# times inside one transaction.
@transaction.atomic(savepoint=False)
def _record_step_by_step(statements: "CallTableStatements", parameters: dict[str, Any]) -> None:
    """Elsewhere (SQLite): the same as the one statement, in three inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(statements.record_placeholder_parent, parameters)
        cursor.execute(statements.record_leg, parameters)
        (call_id,) = cursor.fetchone()
        cursor.execute(statements.record_event, {**parameters, "call_id": call_id})


def _callback_parameters(
    callback: TwilioCallback, *, defaulted: tuple[Field[Any, Any], ...]
) -> dict[str, Any]:
    adapt = connection.ops.adapt_datetimefield_value
    # Only Twilio's Timestamp says when a leg was answered: a request without one (our <Dial>
    # action says in-progress) comes later, and our clock is not Twilio's.
    is_answer = callback.status == CallStatus.IN_PROGRESS and callback.timed_by_twilio
    now = adapt(timezone.now())
    agent_identity = agent_identity_on_leg(
        direction=callback.direction,
        from_address=callback.from_address,
        to_address=callback.to_address,
    )
    family = _child_family_facts(
        status=callback.status,
        at=callback.timestamp if callback.timed_by_twilio else None,
        duration=callback.call_duration,
        from_address=callback.from_address,
        to_address=callback.to_address,
        agent_identity=agent_identity,
    )
    family["child_answer_time"] = adapt(family["child_answer_time"])
    own_kind = (
        ""
        if callback.parent_call_sid
        else parent_kind(
            direction=callback.direction,
            from_address=callback.from_address,
            to_address=callback.to_address,
        )
    )
    return _prefixed_defaults(defaulted) | {
        "sid": callback.call_sid,
        "parent_sid": callback.parent_call_sid,
        "account_sid": callback.account_sid,
        "direction": callback.direction,
        "from_number": callback.from_address,
        "to_number": callback.to_address,
        "status": callback.status,
        "kind": own_kind,
        "sequence_number": callback.sequence_number,
        "rank": STATUS_RANK[callback.status],
        "sequence": -1 if callback.sequence_number is None else callback.sequence_number,
        "status_changed_at": adapt(callback.timestamp),
        "start_time": adapt(callback.start_time_bound),
        "start_time_from_twilio": callback.start_time_from_twilio,
        "answer_time": adapt(callback.timestamp if is_answer else None),
        "end_time": adapt(callback.timestamp if callback.is_terminal else None),
        "duration": callback.call_duration if callback.is_terminal else None,
        "agent_identity": agent_identity,
        **{f"f_{name}": value for name, value in family.items()},
        "error_code": callback.error_code,
        "error_url": callback.error_url,
        "callback_source": callback.callback_source,
        "parameters": connection.ops.adapt_json_value(callback.parameters, None),
        "delivery_digest": callback.delivery_digest,
        "created_at": now,
        "updated_at": now,
    }


# ----- REST: a page of legs at a time -----

# What a REST leg gives, by name: its columns, and the SIDs its parent and agent are found by.
_REST_COLUMNS = (
    *["sid", "account_sid", "direction", "from_number", "to_number", "status", "kind"],
    *["status_changed_at", "start_time", "end_time", "duration", "price", "price_unit"],
    *["created_at", "updated_at"],
)
_REST_LOOKUPS = ("parent_sid", "agent_identity")
_REST_LEG_WRITTEN = {
    **{column: f"leg.{column}" for column in _REST_COLUMNS},
    "parent_id": _family_root("parent"),
    "agent_id": "agent.id",
    "start_time_from_twilio": "leg.start_time IS NOT NULL",
}
_REST_PLACEHOLDER_SOURCES = {
    "answered_by_id": "answered_by.id",
    "answer_time": "leg.child_answer_time",
}
_REST_PLACEHOLDER_INPUTS = (
    *(column for column in _PLACEHOLDER_WRITTEN if column not in _REST_PLACEHOLDER_SOURCES),
    "answered_by",
)


def _rest_default(column: str) -> str:
    return f"leg.default__{column}"


def _rest_placeholder_parent() -> str:
    return (
        _placeholder_parent(
            value=lambda column: _REST_PLACEHOLDER_SOURCES.get(column, f"leg.{column}"),
            default=_rest_default,
        )
        + f" FROM leg LEFT JOIN {Agent._meta.db_table} AS answered_by"
        " ON answered_by.identity = leg.answered_by WHERE true "
        + _merge_family_facts(only_when_changed=True)
        + " RETURNING sid, created_at = updated_at"
    )


def _rest_upsert() -> str:
    """The upsert of a page of legs; RETURNING tells inserted rows (created_at = updated_at)
    from updated ones."""
    return (
        _upsert(
            values=_leg_values(written=_REST_LEG_WRITTEN, default=_rest_default),
            # "WHERE true" lets SQLite read the ON CONFLICT that follows as the upsert clause.
            rows=f"SELECT {{}} FROM leg {_agent_join('leg.agent_identity')}"
            f" LEFT JOIN {_CALL} AS parent ON parent.sid = leg.parent_sid WHERE true",
            merge=REST_MERGE,
        )
        + " WHERE "
        + " OR ".join(
            f"({merged}) IS DISTINCT FROM c.{column}" for column, merged in REST_MERGE.items()
        )
        + " RETURNING created_at = updated_at"
    )


@dataclass(frozen=True)
class RestStatement:
    """A statement reading rows named `leg`, and what each row gives: the `inputs` by name,
    the model's default of each `defaulted` field among them (default__<column>)."""

    sql: str
    inputs: tuple[str, ...]
    defaulted: tuple[Field[Any, Any], ...]


def _rest_statement(
    *, vendor: str, given: Iterable[str], written: Iterable[str], insert: str
) -> RestStatement:
    """`insert` reading rows named `leg`, given as one JSON document (PostgreSQL) or VALUES:
    each row gives `given`, and the defaults of the columns an INSERT names but `written`
    leaves out.

    With thousands of placeholders, or arrays, the driver spends longer quoting the values
    than the server takes to write them.
    """
    defaulted = _defaulted_fields(written)
    inputs = (*given, *(f"default__{field.column}" for field in defaulted))
    if vendor == "postgresql":
        fields = _call_fields()
        definition = ", ".join(f"{name} {_input_type(name, fields)}" for name in inputs)
        source = f"SELECT * FROM json_to_recordset(%s::json) AS leg({definition})"
    else:
        source = "VALUES {values}"
    return RestStatement(
        sql=f"WITH leg({', '.join(inputs)}) AS ({source}) {insert}",
        inputs=inputs,
        defaulted=defaulted,
    )


def _input_type(name: str, fields: dict[str, Field[Any, Any]]) -> str:
    column = name.removeprefix("default__")
    database_type = fields[column].db_type(connection) if column in fields else None
    return database_type or "text"


def _execute_with_rows(cursor: Any, statement: RestStatement, rows: list[dict[str, Any]]) -> None:
    """Run a RestStatement with `rows` (input name -> value) as `leg`."""
    if connection.vendor == "postgresql":
        cursor.execute(statement.sql, [json.dumps(rows, default=str)])
        return
    one_row = f"({', '.join(['%s'] * len(statement.inputs))})"
    cursor.execute(
        statement.sql.replace("{values}", ", ".join([one_row] * len(rows))),
        [row[name] for row in rows for name in statement.inputs],
    )


@transaction.atomic
def calls_upsert_from_rest(*, legs: list[CallInstance]) -> tuple[int, int]:
    """Upsert legs as Twilio's REST API describes them, in two statements per batch.

    A parent not stored yet gets a placeholder row first, so that every child has an id to
    point to. Rows where nothing would change are left alone: an unchanged rerun writes
    nothing. Returns (created, updated) counts; legs that already matched count in neither.
    """
    if not legs:
        return 0, 0
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    created = updated = 0
    statements = call_table_statements()
    with connection.cursor() as cursor:
        parents = _page_family_parents(legs)
        children_by_parent: dict[str, list[CallInstance]] = {}
        for leg in legs:
            parent_sid = parents[leg.sid]
            if parent_sid:
                children_by_parent.setdefault(parent_sid, []).append(leg)
        if children_by_parent:
            defaults = _prefixed_defaults(statements.rest_placeholder_parent.defaulted)
            placeholders = [
                {
                    "sid": sid,
                    "account_sid": legs[0].account_sid or "",
                    "created_at": now,
                    "updated_at": now,
                }
                | _family_facts_of_children(children, adapt=adapt)
                | defaults
                for sid, children in sorted(children_by_parent.items())
            ]
            _execute_with_rows(cursor, statements.rest_placeholder_parent, placeholders)
            # Parents in this batch are counted as created by the upsert below.
            page_sids = {leg.sid for leg in legs}
            created += sum(
                1 for sid, inserted in cursor.fetchall() if inserted and sid not in page_sids
            )
        defaults = _prefixed_defaults(statements.rest_upsert.defaulted)
        rows = [
            _rest_row(leg, parent_sid=parents[leg.sid], now=now, adapt=adapt) | defaults
            for leg in legs
        ]
        _execute_with_rows(cursor, statements.rest_upsert, rows)
        for (inserted,) in cursor.fetchall():
            if inserted:
                created += 1
            else:
                updated += 1
    return created, updated


def _family_facts_of_children(
    children: list[CallInstance], *, adapt: Callable[..., Any]
) -> dict[str, Any]:
    """What these child legs of one parent show about their family, together: the first
    kind one shows, the best dial result, the first answer and who gave it."""
    shown = [
        _child_family_facts(
            status=child.status or "",
            # REST gives no answer time: a live leg counts from its start, an ended one from
            # its end less its duration.
            at=child.start_time if child.status == CallStatus.IN_PROGRESS else child.end_time,
            duration=parse_twilio_count(child.duration or ""),
            from_address=child._from or "",
            to_address=child.to or "",
            agent_identity=agent_identity_on_leg(
                direction=child.direction, from_address=child._from or "", to_address=child.to or ""
            ),
        )
        for child in children
    ]
    answers = [facts for facts in shown if facts["child_answer_time"] is not None]
    first_answer = min(answers, key=lambda facts: facts["child_answer_time"], default=None)
    return {
        "kind": next((facts["kind"] for facts in shown if facts["kind"]), ""),
        "dial_result": max(facts["dial_result"] for facts in shown),
        "child_answer_time": adapt(first_answer["child_answer_time"]) if first_answer else None,
        "answered_by": first_answer["answered_by"] if first_answer else None,
    }


def _page_family_parents(legs: list[CallInstance]) -> dict[str, str | None]:
    """Each leg's parent SID, with the page's own links followed to the root of the family.

    The statement sees the table as it was before it: a parent that this same page makes a
    child is still a root there. So a parent named by the page that has a parent in the page
    gives way to that one's root, and legs that name each other in a circle stay roots.
    """
    named = {leg.sid: leg.parent_call_sid or None for leg in legs}
    parents: dict[str, str | None] = {}
    for sid, parent in named.items():
        seen = {sid}
        while parent is not None and named.get(parent) is not None and parent not in seen:
            seen.add(parent)
            parent = named[parent]
        parents[sid] = None if parent in seen else parent
    return parents


def _rest_row(
    leg: CallInstance, *, parent_sid: str | None, now: object, adapt: Callable[..., Any]
) -> dict[str, Any]:
    from_address = (leg._from or "")[:ADDRESS_MAX_LENGTH]
    to_address = (leg.to or "")[:ADDRESS_MAX_LENGTH]
    direction = leg.direction if leg.direction in KNOWN_DIRECTIONS else ""
    return {
        "sid": leg.sid,
        "parent_sid": parent_sid,
        "account_sid": leg.account_sid or "",
        "direction": direction,
        "from_number": from_address,
        "to_number": to_address,
        "kind": ""
        if parent_sid
        else parent_kind(direction=direction, from_address=from_address, to_address=to_address),
        "agent_identity": agent_identity_on_leg(
            direction=leg.direction, from_address=from_address, to_address=to_address
        ),
        "status": leg.status if leg.status in KNOWN_STATUSES else "",
        "status_changed_at": adapt(leg.date_updated),
        "start_time": adapt(leg.start_time),
        "end_time": adapt(leg.end_time),
        "duration": parse_twilio_count(leg.duration or ""),
        "price": _price(leg.price),
        "price_unit": leg.price_unit or "",
        "created_at": now,
        "updated_at": now,
    }


def _price(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        logger.warning("Ignoring a call price Twilio sent as %r", value)
        return None


# ----- The statements, built on first use -----


@dataclass(frozen=True)
class CallTableStatements:
    """The writer's statements for one database vendor and the columns Call has."""

    # Webhooks: a delivery in one prepared statement (PostgreSQL), or in three (elsewhere).
    record_prepared: PreparedStatement | None
    record_placeholder_parent: str
    record_leg: str
    record_event: str
    ensure_placeholder: str
    webhook_defaulted: tuple[Field[Any, Any], ...]
    # REST: a page of placeholder parents, then a page of legs.
    rest_placeholder_parent: RestStatement
    rest_upsert: RestStatement


@functools.cache
def _statements_for(vendor: str) -> CallTableStatements:
    return CallTableStatements(
        record_prepared=_record_prepared() if vendor == "postgresql" else None,
        record_placeholder_parent=_webhook_placeholder_parent(),
        record_leg=_webhook_leg(_family_root_of("%(parent_sid)s")),
        record_event=_insert_event("%(call_id)s, " + _EVENT_VALUES + " WHERE true"),
        ensure_placeholder=_webhook_placeholder_insert()
        + "ON CONFLICT (sid) DO NOTHING RETURNING id",
        webhook_defaulted=_defaulted_fields(
            (*_WEBHOOK_COLUMNS, "parent_id", "agent_id"), _PLACEHOLDER_WRITTEN
        ),
        rest_placeholder_parent=_rest_statement(
            vendor=vendor,
            given=_REST_PLACEHOLDER_INPUTS,
            written=_PLACEHOLDER_WRITTEN,
            insert=_rest_placeholder_parent(),
        ),
        rest_upsert=_rest_statement(
            vendor=vendor,
            given=(*_REST_COLUMNS, *_REST_LOOKUPS),
            written=_REST_LEG_WRITTEN,
            insert=_rest_upsert(),
        ),
    )


def call_table_statements() -> CallTableStatements:
    """The statements for the default database, built on first use: nothing reads the
    database or its vendor when this module is imported."""
    return _statements_for(connection.vendor)


def call_table_statements_forget() -> None:
    """Forget the statements built so far; the next write builds them from Call's fields as
    they are then (after a schema change, such as a test that adds a field)."""
    _statements_for.cache_clear()


# ----- Facts our own webhooks learn about a leg -----


def call_ensure_placeholder(*, sid: str, account_sid: str) -> int:
    """The id of the leg with this SID, stored as a placeholder when not known yet, as a
    child's callback does for its parent; safe to run concurrently."""
    statements = call_table_statements()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    parameters = (
        _prefixed_defaults(statements.webhook_defaulted)
        | _NO_FAMILY_FACTS
        | {"parent_sid": sid, "account_sid": account_sid, "created_at": now, "updated_at": now}
    )
    with connection.cursor() as cursor:
        cursor.execute(statements.ensure_placeholder, parameters)
        inserted = cursor.fetchone()
        if inserted is not None:
            return int(inserted[0])
        # Inserted by someone else, possibly a moment ago: READ COMMITTED sees it now.
        cursor.execute(f"SELECT id FROM {_CALL} WHERE sid = %s", [sid])
        (existing,) = cursor.fetchone()
        return int(existing)


def call_record_dial_result(
    *, sid: str, dial_status: str, unanswered: bool, offered_to: list[str]
) -> None:
    """Store what our <Dial> action learnt on the parent leg: Twilio's DialCallStatus, who
    was rung, and whether nobody answered. Once missed, a call stays missed (a forward that
    answers does not unmiss it), and the first list of agents offered it is kept.

    An answered <Dial> is the call's last (we hang up after it), so its status is kept: a
    retried or late request for an earlier, unanswered <Dial> cannot replace it.
    """
    changes: dict[str, Any] = {
        "dial_status": Case(
            When(dial_status__in=ANSWERED_DIAL_STATUSES, then=F("dial_status")),
            default=Value(dial_status),
        ),
        "offered_to": Coalesce(F("offered_to"), Value(offered_to, output_field=JSONField())),
        "updated_at": timezone.now(),
    }
    if unanswered:
        changes["unanswered"] = True
    Call.objects.filter(sid=sid).update(**changes)


def call_mark_voicemail_left(*, call_id: int) -> None:
    """Note on the leg that its caller left a voicemail; repeating it changes nothing."""
    Call.objects.filter(id=call_id, voicemail_left=False).update(
        voicemail_left=True, updated_at=timezone.now()
    )


def call_mark_blocked(*, sid: str) -> None:
    """Note on the parent leg that the blocklist rejected its call; repeating it changes
    nothing."""
    Call.objects.filter(sid=sid, blocked=False).update(blocked=True, updated_at=timezone.now())
