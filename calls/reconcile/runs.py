"""Make the call table converge on Twilio's REST API, the source of truth for every leg.

Three ways in: recent calls listed page by page from a watermark, stale legs fetched one by
one, and one call with its children on demand. Each is a ReconcileRun; the running row is
also the lock that keeps two runs from writing at once. Legs are written a page at a time
with one upsert whose merge rules live in SQL, so a webhook applied concurrently is never
lost: the status only moves forward (STATUS_RANK), REST wins for the fields it knows, and a
field once known is never blanked.
"""

import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException
from twilio.base.page import Page
from twilio.rest.api.v2010.account.call import CallInstance

from agents.models import Agent
from calls.constants import STATUS_RANK, TERMINAL_STATUSES, CallDirection, CallStatus
from calls.models import Call, ReconcileRun
from voiceproject.twilio_ids import agent_identity_on_leg
from voiceproject.twilio_rest import twilio_rest_client

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

ADDRESS_MAX_LENGTH = 255
STATUSES = frozenset(CallStatus.values)
DIRECTIONS = frozenset(CallDirection.values)
ABANDONED_MESSAGE = "Abandoned: no progress for RECONCILE_LOCK_TIMEOUT (worker killed?)."


class ReconcileAlreadyRunning(Exception):
    """Another run holds the lock; this one did not start."""


class ReconcileLockLost(Exception):
    """This run went silent for so long that it was declared abandoned; it stops writing."""


_CALL = Call._meta.db_table


def _rank(status_column: str) -> str:
    whens = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items())
    return f"(CASE {status_column} {whens} ELSE -1 END)"


_REST_STATUS_APPLIES = f"{_rank('EXCLUDED.status')} >= {_rank(f'{_CALL}.status')}"


def _rest_value_if_known(column: str) -> str:
    return f"COALESCE(EXCLUDED.{column}, {_CALL}.{column})"


def _rest_text_if_given(column: str) -> str:
    return f"COALESCE(NULLIF(EXCLUDED.{column}, ''), {_CALL}.{column})"


# How each column of an existing leg merges with what REST says. Terminal statuses share the
# top rank, so REST's final word replaces the webhooks' one, never an earlier state a newer one.
_MERGED_COLUMNS = {
    "parent_id": _rest_value_if_known("parent_id"),
    "account_sid": _rest_text_if_given("account_sid"),
    "direction": _rest_text_if_given("direction"),
    "from_number": _rest_text_if_given("from_number"),
    "to_number": _rest_text_if_given("to_number"),
    "agent_id": _rest_value_if_known("agent_id"),
    "status": f"CASE WHEN {_REST_STATUS_APPLIES} THEN EXCLUDED.status ELSE {_CALL}.status END",
    "status_changed_at": f"CASE WHEN {_REST_STATUS_APPLIES} "
    f"AND EXCLUDED.status <> {_CALL}.status THEN EXCLUDED.status_changed_at "
    f"ELSE {_CALL}.status_changed_at END",
    "start_time": _rest_value_if_known("start_time"),
    "end_time": _rest_value_if_known("end_time"),
    "duration": _rest_value_if_known("duration"),
    "price": _rest_value_if_known("price"),
    "price_unit": _rest_text_if_given("price_unit"),
}
# Each column written, with its PostgreSQL type for reading rows from JSON (see _rows).
_LEG_COLUMNS = {
    "sid": "text",
    "parent_id": "bigint",
    "account_sid": "text",
    "direction": "text",
    "from_number": "text",
    "to_number": "text",
    "agent_id": "bigint",
    "status": "text",
    "status_changed_at": "timestamptz",
    "start_time": "timestamptz",
    "end_time": "timestamptz",
    "duration": "integer",
    "price": "numeric",
    "price_unit": "text",
    "error_url": "text",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}
# Rows where nothing would change are left alone: an unchanged rerun writes nothing.
# RETURNING tells inserted rows (created_at = updated_at) from updated ones.
_UPSERT_LEGS = f"""
INSERT INTO {_CALL} ({", ".join(_LEG_COLUMNS)}) {{rows}}
ON CONFLICT (sid) DO UPDATE SET
    {", ".join(f"{column} = {merged}" for column, merged in _MERGED_COLUMNS.items())},
    updated_at = EXCLUDED.updated_at
WHERE {
    " OR ".join(
        f"({merged}) IS DISTINCT FROM {_CALL}.{column}"
        for column, merged in _MERGED_COLUMNS.items()
    )
}
RETURNING created_at = updated_at
"""
_PLACEHOLDER_COLUMNS = {
    column: _LEG_COLUMNS[column]
    for column in (
        *["sid", "account_sid", "direction", "from_number", "to_number", "status"],
        *["price_unit", "error_url", "created_at", "updated_at"],
    )
}
_INSERT_PLACEHOLDERS = f"""
INSERT INTO {_CALL} ({", ".join(_PLACEHOLDER_COLUMNS)}) {{rows}}
ON CONFLICT (sid) DO NOTHING
RETURNING sid
"""


def _rows(columns: dict[str, str], rows: list[tuple]) -> tuple[str, list]:
    """Return the row source for an INSERT and its parameters.

    PostgreSQL gets the rows as one JSON document: with thousands of placeholders, or arrays,
    the driver spends longer quoting the values than the server takes to write them. SQLite
    gets a VALUES list.
    """
    if connection.vendor == "postgresql":
        names = list(columns)
        document = json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str)
        definition = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        return f"SELECT * FROM json_to_recordset(%s::json) AS row({definition})", [document]
    row = f"({', '.join(['%s'] * len(columns))})"
    return "VALUES " + ", ".join([row] * len(rows)), [value for row in rows for value in row]


def reconcile_recent_calls(
    *, since: datetime | None = None, on_progress: ProgressCallback | None = None
) -> ReconcileRun:
    """List every call started since the last good watermark (minus the overlap) and upsert it.

    A run asked to start later than that leaves a gap behind it, so it keeps the watermark
    where it was.
    """
    automatic_since = _automatic_since()
    since = automatic_since if since is None else since.astimezone(UTC)
    with _recorded_run(kind=ReconcileRun.Kind.RECENT, since=since) as run:
        listing_started_at = timezone.now()
        first_page = twilio_rest_client().calls.page(
            start_time_after=since, page_size=settings.RECONCILE_PAGE_SIZE
        )
        _apply_pages(run, first_page, on_progress)
        if since <= automatic_since:
            run.watermark = listing_started_at
    return run


def reconcile_stale_calls(
    *, older_than: timedelta | None = None, on_progress: ProgressCallback | None = None
) -> ReconcileRun:
    """Fetch legs still not final after RECONCILE_STALE_AFTER one by one, oldest first."""
    if older_than is None:
        older_than = timedelta(seconds=settings.RECONCILE_STALE_AFTER)
    cutoff = timezone.now() - older_than
    stale_sids = list(
        Call.objects.exclude(status__in=TERMINAL_STATUSES)
        .filter(Q(start_time__lt=cutoff) | Q(start_time__isnull=True, created_at__lt=cutoff))
        .order_by("id")
        .values_list("sid", flat=True)[: settings.RECONCILE_STALE_LIMIT]
    )
    with _recorded_run(kind=ReconcileRun.Kind.STALE) as run:
        client = twilio_rest_client()
        agent_ids = _agent_ids()
        for sid in stale_sids:
            try:
                leg = client.calls(sid).fetch()
            except TwilioRestException as error:
                if error.status != 404:
                    raise
                # Not fatal: one bad SID must not keep every other stale leg stale.
                run.errors += 1
                run.error_message = f"Twilio has no call {sid} (404)."
                leg = None
            _apply_legs(run, [leg] if leg else [], agent_ids)
            if on_progress:
                on_progress(1)
    return run


def reconcile_call(*, sid: str, on_progress: ProgressCallback | None = None) -> ReconcileRun:
    """Fetch one leg and list its children, e.g. when a supervisor doubts what the log says."""
    with _recorded_run(kind=ReconcileRun.Kind.SINGLE, call_sid=sid) as run:
        client = twilio_rest_client()
        _apply_legs(run, [client.calls(sid).fetch()], _agent_ids())
        if on_progress:
            on_progress(1)
        first_page = client.calls.page(parent_call_sid=sid, page_size=settings.RECONCILE_PAGE_SIZE)
        _apply_pages(run, first_page, on_progress)
    return run


def _automatic_since() -> datetime:
    last_watermark = (
        ReconcileRun.objects.filter(
            kind=ReconcileRun.Kind.RECENT,
            outcome=ReconcileRun.Outcome.SUCCEEDED,
            watermark__isnull=False,
        )
        .order_by("-watermark")
        .values_list("watermark", flat=True)
        .first()
    )
    if last_watermark is None:
        return timezone.now() - timedelta(seconds=settings.RECONCILE_FIRST_LOOKBACK)
    return last_watermark - timedelta(seconds=settings.RECONCILE_OVERLAP)


@contextmanager
def _recorded_run(*, kind: str, since: datetime | None = None, call_sid: str = "") -> Iterator:
    """Take the lock as a running ReconcileRun, and record how the run ended."""
    run = _run_start(kind=kind, since=since, call_sid=call_sid)
    try:
        yield run
    # BaseException too: a run interrupted with Ctrl-C or a time limit releases the lock now.
    except BaseException as error:
        run.errors += 1
        _run_finish(
            run, outcome=ReconcileRun.Outcome.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    _run_finish(run, outcome=ReconcileRun.Outcome.SUCCEEDED)


def _run_start(*, kind: str, since: datetime | None, call_sid: str) -> ReconcileRun:
    now = timezone.now()
    # A worker killed mid-run leaves its row running; past the timeout it no longer blocks.
    ReconcileRun.objects.filter(
        outcome=ReconcileRun.Outcome.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=settings.RECONCILE_LOCK_TIMEOUT),
    ).update(outcome=ReconcileRun.Outcome.FAILED, finished_at=now, error_message=ABANDONED_MESSAGE)
    try:
        with transaction.atomic():
            return ReconcileRun.objects.create(
                kind=kind, since=since, call_sid=call_sid, heartbeat_at=now
            )
    except IntegrityError:
        raise ReconcileAlreadyRunning("Another reconciliation is running.") from None


def _run_finish(run: ReconcileRun, *, outcome: str, error: str = "") -> None:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.error_message = error or run.error_message
    run.save(update_fields=["outcome", "finished_at", "watermark", "errors", "error_message"])


def _apply_pages(run: ReconcileRun, page: Page, on_progress: ProgressCallback | None) -> None:
    """Upsert page after page, downloading the next page while the database writes this one.

    At most two pages of calls are held in memory, however long the listing.
    """
    agent_ids = _agent_ids()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twilio-page") as downloader:
        legs = list(page)
        while True:
            upcoming = downloader.submit(_next_page_legs, page)
            run.pages += 1
            _apply_legs(run, legs, agent_ids)
            if on_progress:
                on_progress(len(legs))
            page, legs = upcoming.result()
            if page is None:
                return


def _next_page_legs(page: Page) -> tuple[Page | None, list[CallInstance]]:
    upcoming = page.next_page()
    return upcoming, list(upcoming) if upcoming is not None else []


@transaction.atomic
def _apply_legs(run: ReconcileRun, legs: list[CallInstance], agent_ids: dict[str, int]) -> None:
    """Write the legs and the run's progress together, unless the run has lost its lock."""
    created, updated = calls_upsert_from_rest(legs=legs, agent_ids=agent_ids)
    run.calls_seen += len(legs)
    run.calls_created += created
    run.calls_updated += updated
    still_ours = ReconcileRun.objects.filter(
        pk=run.pk, outcome=ReconcileRun.Outcome.RUNNING
    ).update(
        pages=run.pages,
        calls_seen=run.calls_seen,
        calls_created=run.calls_created,
        calls_updated=run.calls_updated,
        heartbeat_at=timezone.now(),
    )
    if not still_ours:
        raise ReconcileLockLost("This run was declared abandoned; another may be writing.")


def _agent_ids() -> dict[str, int]:
    return dict(Agent.objects.values_list("identity", "id"))


@transaction.atomic
def calls_upsert_from_rest(
    *, legs: list[CallInstance], agent_ids: dict[str, int]
) -> tuple[int, int]:
    """Upsert legs as Twilio's REST API describes them, in three statements per batch.

    A parent not stored yet gets a placeholder row first, so that every child has an id to
    point to. Returns (created, updated) counts; legs that already matched count in neither.
    """
    if not legs:
        return 0, 0
    adapt_datetime = connection.ops.adapt_datetimefield_value
    now = adapt_datetime(timezone.now())
    page_sids = {leg.sid for leg in legs}
    parent_sids = sorted({leg.parent_call_sid for leg in legs if leg.parent_call_sid})
    created = updated = 0
    parent_ids = {}
    with connection.cursor() as cursor:
        if parent_sids:
            account_sid = legs[0].account_sid or ""
            rows, params = _rows(
                _PLACEHOLDER_COLUMNS,
                [(sid, account_sid, "", "", "", "", "", "", now, now) for sid in parent_sids],
            )
            cursor.execute(_INSERT_PLACEHOLDERS.format(rows=rows), params)
            # Parents in this batch are counted as created by the upsert below.
            created += sum(1 for (sid,) in cursor.fetchall() if sid not in page_sids)
            parent_ids = dict(Call.objects.filter(sid__in=parent_sids).values_list("sid", "id"))
        rows, params = _rows(
            _LEG_COLUMNS,
            [_leg_values(leg, parent_ids, agent_ids, now, adapt_datetime) for leg in legs],
        )
        cursor.execute(_UPSERT_LEGS.format(rows=rows), params)
        for (inserted,) in cursor.fetchall():
            if inserted:
                created += 1
            else:
                updated += 1
    return created, updated


def _leg_values(
    leg: CallInstance,
    parent_ids: dict[str, int],
    agent_ids: dict[str, int],
    now,
    adapt_datetime: Callable,
) -> tuple:
    from_address = (leg._from or "")[:ADDRESS_MAX_LENGTH]
    to_address = (leg.to or "")[:ADDRESS_MAX_LENGTH]
    identity = agent_identity_on_leg(
        direction=leg.direction, from_address=from_address, to_address=to_address
    )
    return (
        leg.sid,
        parent_ids.get(leg.parent_call_sid),
        leg.account_sid or "",
        leg.direction if leg.direction in DIRECTIONS else "",
        from_address,
        to_address,
        agent_ids.get(identity),
        leg.status if leg.status in STATUSES else "",
        adapt_datetime(leg.date_updated),
        adapt_datetime(leg.start_time),
        adapt_datetime(leg.end_time),
        int(leg.duration) if leg.duration else None,
        _price(leg.price),
        leg.price_unit or "",
        "",
        now,
        now,
    )


def _price(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        logger.warning("Ignoring a call price Twilio sent as %r", value)
        return None
