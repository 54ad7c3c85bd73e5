"""The call log's CSV export: every leg of the chosen families, streamed."""

from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import F, QuerySet, TextField
from django.db.models.functions import Cast, Coalesce

from calls.log.families import family_id
from calls.models import Call

# Rows per round trip of the CSV export's server-side cursor.
EXPORT_CHUNK_ROWS = 5000
CSV_HEADER = (
    "parent_sid", "sid", "direction", "from", "to", "agent", "status", "start_time",
    "answer_time", "end_time", "duration", "price", "price_unit", "error_code",
)  # fmt: skip


def call_export_rows(families: QuerySet[Call]) -> Iterator[tuple[Any, ...]]:
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
        # django-stubs cannot see annotations passed as **kwargs, so knows no family_id.
        .filter(family_id__in=families.values("id"))  # type: ignore[misc]
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
