"""The call log's CSV export: every leg of the chosen families, streamed."""

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, F, Func, Q, QuerySet, TextField, When
from django.db.models.functions import Cast, Coalesce
from django.db.models.sql.compiler import SQLCompiler

from calls.family_facts import family_id, family_outcome
from calls.log.paging import keyset_rows
from calls.models import Call

# Families per query (and per short transaction) of the CSV export: a few thousand rows.
EXPORT_BATCH_FAMILIES = 1000
# Each CSV column and the value (of _family_legs' query) it shows, in order.
CSV_COLUMNS = (
    ("parent_sid", "parent__sid"),
    ("sid", "sid"),
    ("kind", "family_kind"),
    ("outcome", "family_outcome"),
    ("answered_by", "family_answered_by"),
    ("hold_seconds", "family_hold_seconds"),
    ("transfers", "family_transfers"),
    ("ended_by", "family_ended_by"),
    ("disposition", "family_disposition_name"),
    ("note", "family_note"),
    ("direction", "direction"),
    ("from", "from_number"),
    ("to", "to_number"),
    ("agent", "agent__identity"),
    ("status", "status"),
    ("start_time", "start_time_text"),
    ("answer_time", "answer_time_text"),
    ("end_time", "end_time_text"),
    ("duration", "duration"),
    ("price", "price_text"),
    ("price_unit", "price_unit"),
    ("error_code", "error_code"),
)
CSV_HEADER = tuple(column for column, _ in CSV_COLUMNS)
# The columns whose text comes from outside (callers, agents' notes, the supervisors' list)
# and may start a formula; the others are SIDs, statuses, identities, times and numbers.
FREE_TEXT_COLUMNS = ("disposition", "note", "from", "to")


class IsoTime(Func):
    """A time as ISO 8601 text with its offset (2026-11-23T19:30:45+01:00), written by the
    database: in the session's time zone on PostgreSQL (call_export_rows sets the one it is
    given for each batch), in UTC on SQLite."""

    output_field = TextField()
    templates = {
        "postgresql": "to_char(%(expressions)s, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')",
        # %%%% becomes %% in the SQL, which the SQLite backend runs as % and DEBUG's query
        # log formats as % too; a single % there made the export fail with DEBUG on.
        "sqlite": "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%S+00:00', %(expressions)s)",
    }

    def as_sql(  # type: ignore[override]  # the template is the vendor's
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        template = self.templates[connection.vendor]
        return super().as_sql(compiler, connection, template=template, **extra)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# @SUM(...), -2+3...), unless the cell is a plain number such as -0.0085 or +14155550100.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula: a leading apostrophe
    makes it plain text. Numbers, valid E.164 numbers included, stay exactly as they are."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def call_export_rows(families: QuerySet[Call], *, time_zone: str) -> Iterator[tuple[Any, ...]]:
    """Every leg of these families as a CSV_HEADER tuple, family by family, newest first, its
    times in `time_zone` (an IANA name).

    The families are read EXPORT_BATCH_FAMILIES at a time, by keyset, each batch with its legs
    in one short transaction of its own: the rows go out to the reader between two batches,
    so a slow or stalled reader never holds a transaction open (nor its snapshot, which would
    keep VACUUM from the legs written meanwhile). Memory holds one batch. The database writes
    times and prices as text: parsing them into Python objects only to print them again would
    cost most of the export's time. The zone is an argument, not the current one: rows are
    read while the answer streams, after the request's own zone has ended.
    """
    after: tuple[datetime | None, int] | None = None
    while True:
        batch, after = _export_batch(families, after=after, time_zone=time_zone)
        yield from _spreadsheet_safe_rows(batch)
        if after is None:
            return


def _export_batch(
    families: QuerySet[Call], *, after: tuple[datetime | None, int] | None, time_zone: str
) -> tuple[list[tuple[Any, ...]], tuple[datetime | None, int] | None]:
    """The rows of the next EXPORT_BATCH_FAMILIES families after `after`, and the position
    of the last of them (None when no family follows)."""
    if connection.vendor != "postgresql":
        # Not on SQLite, where our transactions take the write lock; times are in UTC there.
        return _batch_rows(families, after=after)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [time_zone])
        return _batch_rows(families, after=after)


def _batch_rows(
    families: QuerySet[Call], *, after: tuple[datetime | None, int] | None
) -> tuple[list[tuple[Any, ...]], tuple[datetime | None, int] | None]:
    # The call log's own keyset order for newest first: one index range per query.
    batch = keyset_rows(
        families.select_related(None).only("id", "start_time"),
        field="start_time",
        descending=True,
        after=after,
        limit=EXPORT_BATCH_FAMILIES,
    )
    if not batch:
        return [], None
    rows = list(_family_legs([family.id for family in batch]))
    last = batch[-1]
    return rows, (last.start_time, last.id) if len(batch) == EXPORT_BATCH_FAMILIES else None


def _family_legs(family_ids: list[int]) -> QuerySet[Call, tuple[Any, ...]]:
    """Every leg of these families as CSV_HEADER tuples, in the export's order."""
    as_text = {f"{name}_text": IsoTime(name) for name in ("start_time", "answer_time", "end_time")}
    is_parent = Q(parent__isnull=True)

    def of_family(lookup: str) -> Case:
        return Case(When(is_parent, then=F(lookup)), default=F(f"parent__{lookup}"))

    family = {
        "family_kind": of_family("kind"),
        "family_outcome": Case(
            When(is_parent, then=family_outcome()), default=family_outcome(of="parent__")
        ),
        "family_answered_by": of_family("answered_by__identity"),
        "family_disposition_name": of_family("family_disposition__disposition__name"),
        "family_note": of_family("family_disposition__note"),
        **{
            f"family_{column}": of_family(f"conference__{column}")
            for column in ("hold_seconds", "transfers", "ended_by")
        },
    }
    return (
        Call.objects.annotate(
            family_id=family_id(), price_text=Cast("price", TextField()), **as_text, **family
        )
        # django-stubs cannot see annotations passed as **kwargs, so knows no family_id.
        .filter(family_id__in=family_ids)  # type: ignore[misc]
        .order_by(
            Coalesce("parent__start_time", "start_time").desc(nulls_first=True),
            F("family_id").desc(),
            F("parent_id").asc(nulls_first=True),
            F("start_time").asc(nulls_last=True),
            "id",
        )
        .values_list(*(value for _, value in CSV_COLUMNS))
    )


def _spreadsheet_safe_rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    free_text = [CSV_HEADER.index(column) for column in FREE_TEXT_COLUMNS]
    for row in rows:
        if any((row[index] or "").startswith(FORMULA_PREFIXES) for index in free_text):
            cells = list(row)
            for index in free_text:
                cells[index] = spreadsheet_safe(cells[index])
            row = tuple(cells)
        yield row
