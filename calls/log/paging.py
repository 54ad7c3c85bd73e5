"""Pages of call families by keyset, in one of the sort orders, and their opaque cursors."""

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import F, Prefetch, Q, QuerySet, prefetch_related_objects

from calls.family_facts import family_outcome
from calls.log.families import Family
from calls.models import Call
from voiceproject.twilio_ids import TWILIO_EPOCH

# Sort orders of the list: each is a nullable column of the parent leg, then the id. The
# filters' form offers these; the pages and the API read the choice from its cleaned data.
SORTS = {
    "-start_time": "Newest first",
    "start_time": "Oldest first",
    "-duration": "Longest first",
    "duration": "Shortest first",
}
DEFAULT_SORT = "-start_time"
# Families per page: about a screenful of rows once their children are nested.
PAGE_SIZE = 25
# What a page of families shows (the pages and the API alike): loading no more keeps a page
# cheap to build.
PAGE_FIELDS = (
    "sid", "parent_id", "direction", "from_number", "to_number", "status", "start_time",
    "answer_time", "end_time", "duration", "price", "price_unit", "error_code",
    "agent__identity",
)  # fmt: skip
# What a page shows of each family besides its parent leg's own fields.
FAMILY_FIELDS = (
    "kind", "dial_result", "voicemail_left", "child_answer_time", "answered_by__identity",
    "conference__hold_seconds", "conference__transfers", "conference__ended_by",
    "family_disposition__note", "family_disposition__disposition__name",
)  # fmt: skip

SortKey = datetime | int | None

# Our cursors are about 60 characters; a longer one was not written here.
CURSOR_MAX_LENGTH = 200
# The bounds of the columns a cursor's key and id are compared with (positive integer, bigint).
POSITIVE_INTEGER_MAX = 2**31 - 1
CALL_ID_MAX = 2**63 - 1
# Far enough ahead for any stored start time, short of the end of Python's and PostgreSQL's
# calendars, which a zone offset could otherwise push a date past.
LATEST_CURSOR_TIME = datetime(9000, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    """A page cursor that this code did not write."""


@dataclass(frozen=True)
class FamilyPage:
    families: list[Family]
    next_cursor: str | None
    previous_cursor: str | None


def _sort_field(sort: str) -> tuple[str, bool]:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    return sort.removeprefix("-"), sort.startswith("-")


def call_page_cursor(call: Call, *, sort: str, backwards: bool = False) -> str:
    """An opaque cursor for the page that starts right after `call` in this sort order."""
    field, _ = _sort_field(sort)
    key = getattr(call, field)
    position = [key.isoformat() if isinstance(key, datetime) else key, call.id, backwards]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode_cursor(cursor: str, field: str) -> tuple[SortKey, int, bool]:
    """Read a cursor back, refusing anything the database could not compare: a huge or
    non-finite number, a date without a zone or out of range, deep nesting."""
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidCursor(cursor[:CURSOR_MAX_LENGTH])
    try:
        key, call_id, backwards = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key is not None:
            key = _sort_key(key, field)
        if not isinstance(call_id, int) or not isinstance(backwards, bool):
            raise TypeError(call_id)
        if not 0 < call_id <= CALL_ID_MAX:
            raise ValueError(call_id)
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as error:
        raise InvalidCursor(cursor) from error
    return key, call_id, backwards


def _sort_key(key: object, field: str) -> datetime | int:
    if field == "start_time":
        if not isinstance(key, str):
            raise TypeError(key)
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is None or not TWILIO_EPOCH <= moment <= LATEST_CURSOR_TIME:
            raise ValueError(key)
        return moment
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= POSITIVE_INTEGER_MAX:
        raise ValueError(key)
    return key


@contextmanager
def planner_settings(**settings: str) -> Iterator[None]:
    """Within this block PostgreSQL plans with these settings (SET LOCAL, in a transaction
    of the block's own, or a savepoint); elsewhere nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield


def _serial_plans() -> AbstractContextManager[None]:
    """Within this block PostgreSQL plans no parallel query.

    A page reads 26 rows at most. A parallel plan of that query starts worker processes, each
    of which walks its own share of the families and runs ahead of what the page needs: with a
    filter few families match (an agent's missed calls), the workers test ten times as many
    families as a serial walk does, and waiting for them to start costs more than the walk
    itself on a busy server.
    """
    return planner_settings(max_parallel_workers_per_gather="0")


def keyset_rows(
    queryset: QuerySet[Call],
    *,
    field: str,
    descending: bool,
    after: tuple[SortKey, int] | None,
    limit: int,
) -> list[Call]:
    """Up to `limit` rows in (field, id) order, after the position `after` (key, id) if given.

    NULL keys sort as larger than every value, as in PostgreSQL's indexes, so a parent still
    known only by its SID (no start time yet) lists as the newest. Each query walks one index
    range: NULL keys and values are read apart, and `field <= key` bounds the scan so a deep
    page costs as little as the first.
    """
    nulls = queryset.filter(**{f"{field}__isnull": True})
    values = queryset.filter(**{f"{field}__isnull": False})
    if descending:
        segments = [nulls.order_by("-id"), values.order_by(f"-{field}", "-id")]
    else:
        segments = [values.order_by(field, "id"), nulls.order_by("id")]
    if after is not None:
        key, call_id = after
        beyond = "lt" if descending else "gt"
        if key is None:
            null_segment = nulls.filter(**{f"id__{beyond}": call_id}).order_by(
                "-id" if descending else "id"
            )
            segments = [null_segment, segments[1]] if descending else [null_segment]
        else:
            value_segment = segments[1 if descending else 0].filter(
                Q(**{f"{field}__{beyond}e": key})
                & (Q(**{f"{field}__{beyond}": key}) | Q(**{f"id__{beyond}": call_id}))
            )
            segments = [value_segment] if descending else [value_segment, segments[1]]
    rows: list[Call] = []
    for segment in segments:
        rows.extend(segment[: limit - len(rows)])
        if len(rows) == limit:
            break
    return rows


def call_family_page(
    families: QuerySet[Call],
    *,
    sort: str = DEFAULT_SORT,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
) -> FamilyPage:
    """One page of families in `sort` order, children nested, with cursors to its neighbours.

    Raises InvalidCursor for a cursor this code did not write.
    """
    field, descending = _sort_field(sort)
    after: tuple[SortKey, int] | None = None
    backwards = False
    if cursor:
        key, call_id, backwards = _decode_cursor(cursor, field)
        after = (key, call_id)
    with _serial_plans():
        rows = keyset_rows(
            families.select_related("answered_by", "conference", "family_disposition__disposition")
            .only(*PAGE_FIELDS, *FAMILY_FIELDS)
            .annotate(outcome=family_outcome()),
            field=field,
            descending=descending != backwards,
            after=after,
            limit=size + 1,
        )
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_next = bool(rows) and (more or backwards)
    has_previous = bool(rows) and (more if backwards else after is not None)
    children = (
        Call.objects.select_related("agent")
        .only(*PAGE_FIELDS)
        .order_by(F("start_time").asc(nulls_last=True), "id")
    )
    prefetch_related_objects(rows, Prefetch("children", queryset=children))
    return FamilyPage(
        families=[Family(parent=row, children=list(row.children.all())) for row in rows],
        next_cursor=call_page_cursor(rows[-1], sort=sort) if has_next else None,
        previous_cursor=call_page_cursor(rows[0], sort=sort, backwards=True)
        if has_previous
        else None,
    )
