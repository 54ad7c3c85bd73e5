"""Reads for the call log: who may see which call families, pages of them, one family, the
CSV export and the statistics.

A family is a parent leg and the child legs its <Dial> created. Lists show families, keyed by
the parent; a filter matches a family when one of its legs matches it.
"""

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Avg,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce, ExtractHour, TruncDate

from agents.models import Agent
from calls.constants import CallStatus
from calls.models import Call, CallEvent
from voiceproject.roles import ANALYSTS, SUPERVISORS

# Sort orders of the list: each is a nullable column of the parent leg, then the id.
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
# Rows per round trip of the CSV export's server-side cursor.
EXPORT_CHUNK_ROWS = 5000
ANSWERED_STATUSES = (CallStatus.IN_PROGRESS, CallStatus.COMPLETED)


def family_id() -> Coalesce:
    """The id of a leg's family: its parent's id, or its own for a parent.

    Matches the expression of the index `call_family_idx`, which makes "the family of these
    legs" and "the legs of this family" index lookups.
    """
    return Coalesce("parent_id", "id")


# Who sees what


def call_log_sees_everything(user) -> bool:
    # Cached on the user object, like Django's permission cache: asked several times a request.
    if not hasattr(user, "_call_log_sees_everything"):
        user._call_log_sees_everything = user.is_authenticated and (
            user.is_superuser or user.groups.filter(name__in=[ANALYSTS, SUPERVISORS]).exists()
        )
    return user._call_log_sees_everything


def call_log_agent_id(user) -> int | None:
    """The id of the user's agent profile, whose legs (and their families) the user may see."""
    if not hasattr(user, "_call_log_agent_id"):
        user._call_log_agent_id = (
            Agent.objects.filter(user_id=user.pk).values_list("id", flat=True).first()
            if user.is_authenticated
            else None
        )
    return user._call_log_agent_id


def can_view_call_log(user) -> bool:
    return call_log_sees_everything(user) or call_log_agent_id(user) is not None


def families_of(legs: QuerySet[Call]) -> QuerySet:
    """The family ids of these legs, for use as an `id__in` subquery."""
    return legs.annotate(family_id=family_id()).values("family_id")


def call_families_visible_to(user) -> QuerySet[Call]:
    """Parent legs of the families the user may see: all of them for analysts, supervisors
    and superusers; for an agent, the families in which one leg is the agent's own."""
    parents = Call.objects.filter(parent__isnull=True).select_related("agent")
    if call_log_sees_everything(user):
        return parents
    agent_id = call_log_agent_id(user)
    if agent_id is None:
        return parents.none()
    return parents.filter(id__in=families_of(Call.objects.filter(agent_id=agent_id)))


# Pages of families, by keyset


class InvalidCursor(ValueError):
    """A page cursor that this code did not write."""


@dataclass(frozen=True)
class Family:
    parent: Call
    children: list[Call]

    @property
    def legs(self) -> list[Call]:
        return [self.parent, *self.children]


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


def _decode_cursor(cursor: str, field: str) -> tuple[datetime | int | None, int, bool]:
    try:
        key, call_id, backwards = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key is not None:
            key = datetime.fromisoformat(key) if field == "start_time" else int(key)
        if not isinstance(call_id, int) or not isinstance(backwards, bool):
            raise TypeError(call_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidCursor(cursor) from error
    return key, call_id, backwards


@contextmanager
def _serial_plans():
    """Within this block PostgreSQL plans no parallel query.

    A page reads 26 rows at most. A parallel plan of that query starts worker processes, each
    of which walks its own share of the families and runs ahead of what the page needs: with a
    filter few families match (an agent's missed calls), the workers test ten times as many
    families as a serial walk does, and waiting for them to start costs more than the walk
    itself on a busy server. SET LOCAL lasts until the end of the transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def _keyset_rows(
    queryset: QuerySet[Call], *, field: str, descending: bool, after, limit: int
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
    rows = []
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
    after, backwards = None, False
    if cursor:
        key, call_id, backwards = _decode_cursor(cursor, field)
        after = (key, call_id)
    with _serial_plans():
        rows = _keyset_rows(
            families.only(*PAGE_FIELDS),
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


# One family


@dataclass(frozen=True)
class CallFamily(Family):
    events: list[CallEvent]  # every leg's callbacks, in the order Twilio fired them


def call_family_get(*, sid: str, user) -> CallFamily | None:
    """The family of the leg with this SID (parent or child), if the user may see it."""
    leg = Call.objects.filter(sid=sid).values("id", "parent_id").first()
    if leg is None:
        return None
    parent = call_families_visible_to(user).filter(id=leg["parent_id"] or leg["id"]).first()
    if parent is None:
        return None
    children = list(
        parent.children.select_related("agent").order_by(F("start_time").asc(nulls_last=True), "id")
    )
    events = list(
        CallEvent.objects.filter(call_id__in=[parent.id, *(child.id for child in children)])
        .select_related("call")
        .order_by(F("timestamp").asc(nulls_last=True), "sequence_number", "received_at", "id")
    )
    return CallFamily(parent=parent, children=children, events=events)


# CSV export

CSV_HEADER = (
    "parent_sid", "sid", "direction", "from", "to", "agent", "status", "start_time",
    "answer_time", "end_time", "duration", "price", "price_unit", "error_code",
)  # fmt: skip


def call_export_rows(families: QuerySet[Call]) -> Iterator[tuple]:
    """Every leg of these families as a CSV_HEADER tuple, family by family, newest first.

    Rows stream from a server-side cursor, so memory stays flat however many there are. The
    database writes times and prices as text: parsing them into Python objects only to print
    them again would cost most of the export's time.
    """
    as_text = {
        f"{name}_text": Cast(name, TextField())
        for name in ("start_time", "answer_time", "end_time", "price")
    }
    legs = (
        Call.objects.annotate(family_id=family_id(), **as_text)
        .filter(family_id__in=families.values("id"))
        .order_by(
            Coalesce("parent__start_time", "start_time").desc(nulls_first=True),
            F("family_id").desc(),
            F("parent_id").asc(nulls_first=True),
            F("start_time").asc(nulls_last=True),
            "id",
        )
        .values_list(
            "parent__sid",
            "sid",
            "direction",
            "from_number",
            "to_number",
            "agent__identity",
            "status",
            "start_time_text",
            "answer_time_text",
            "end_time_text",
            "duration",
            "price_text",
            "price_unit",
            "error_code",
        )
    )
    if connection.vendor != "postgresql":
        yield from legs.iterator(chunk_size=EXPORT_CHUNK_ROWS)
        return
    # Inside a transaction PostgreSQL streams the cursor's rows as they are fetched; outside
    # one (WITH HOLD) it would first copy the whole result aside. Not on SQLite, where our
    # transactions take the write lock and would hold off webhooks for the whole export.
    with transaction.atomic():
        yield from legs.iterator(chunk_size=EXPORT_CHUNK_ROWS)


# Statistics


@dataclass(frozen=True)
class AgentStats:
    identity: str
    legs: int
    answered: int
    average_talk_seconds: float | None

    @property
    def answer_rate(self) -> float:
        return self.answered / self.legs if self.legs else 0.0


@dataclass(frozen=True)
class CallStats:
    per_day: dict[date, dict[str, int]]  # day -> direction -> legs
    per_hour: dict[int, dict[str, int]]  # hour of day, 0-23 -> direction -> legs
    directions: list[str]
    agents: list[AgentStats]


def call_stats(families: QuerySet[Call]) -> CallStats:
    """Legs per day and per hour of day by direction, and each agent's answer rate and
    average talk time, over every leg of these families."""
    legs = Call.objects.annotate(family_id=family_id()).filter(
        family_id__in=families.values("id"), start_time__isnull=False
    )
    per_day: dict[date, dict[str, int]] = {}
    per_hour: dict[int, dict[str, int]] = {hour: {} for hour in range(24)}
    directions = set()
    by_day = legs.annotate(day=TruncDate("start_time")).values("day", "direction")
    for row in by_day.annotate(legs=Count("id")).order_by():
        per_day.setdefault(row["day"], {})[row["direction"]] = row["legs"]
        directions.add(row["direction"])
    by_hour = legs.annotate(hour=ExtractHour("start_time")).values("hour", "direction")
    for row in by_hour.annotate(legs=Count("id")).order_by():
        per_hour[row["hour"]][row["direction"]] = row["legs"]
    by_agent = (
        legs.filter(agent__isnull=False)
        .values("agent__identity")
        .annotate(
            legs=Count("id"),
            answered=Count("id", filter=Q(status__in=ANSWERED_STATUSES)),
            average_talk_seconds=Avg("duration", filter=Q(status=CallStatus.COMPLETED)),
        )
        .order_by("agent__identity")
    )
    agents = [
        AgentStats(
            identity=row["agent__identity"],
            legs=row["legs"],
            answered=row["answered"],
            average_talk_seconds=row["average_talk_seconds"],
        )
        for row in by_agent
    ]
    if per_day:
        first, last = min(per_day), max(per_day)
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        per_day = {day: per_day.get(day, {}) for day in days}
    return CallStats(
        per_day=per_day,
        per_hour=per_hour,
        directions=sorted(directions),
        agents=agents,
    )
