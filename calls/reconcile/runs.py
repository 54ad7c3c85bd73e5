"""Make the call table converge on Twilio's REST API, the source of truth for every leg.

Three ways in: recent calls listed page by page from a watermark, stale legs fetched one by
one, and one call with its children on demand. Each is a ReconcileRun; the running row is
also the lock that keeps two runs of the same job from writing at once. Legs are written a
page at a time by calls.call_table, whose REST merge policy keeps a webhook (or another run)
applied concurrently: the status only moves forward, REST wins for the fields it knows, and
a field once known is never blanked.
"""

import itertools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException
from twilio.base.page import Page
from twilio.rest.api.v2010.account.call import CallInstance
from twilio.rest.api.v2010.account.recording import RecordingInstance

from calls.call_table import calls_upsert_from_rest
from calls.constants import TERMINAL_STATUSES
from calls.models import ReconcileRun, StaleLegCheck
from calls.reconcile.selectors import silent_legs
from calls.recordings.writer import recordings_upsert_from_rest
from voiceproject.twilio_ids import (
    is_call_sid,
    is_plausible_call_duration,
    is_plausible_call_time,
    is_sid,
    parse_twilio_count,
)
from voiceproject.twilio_rest import twilio_rest_client

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
# A resource of the REST API: a call leg or a recording.
Resource = TypeVar("Resource", CallInstance, RecordingInstance)

ABANDONED_MESSAGE = "Abandoned: no progress for RECONCILE_LOCK_TIMEOUT (worker killed?)."


class ReconcileAlreadyRunning(Exception):
    """Another run holds the lock; this one did not start."""


class ReconcileLockLost(Exception):
    """This run went silent for so long that it was declared abandoned; it stops writing."""


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


def reconcile_stale_calls(*, on_progress: ProgressCallback | None = None) -> ReconcileRun:
    """Fetch the legs silent for RECONCILE_STALE_AFTER one by one, those silent longest first.

    A lost final callback would otherwise keep its leg, and its agent, on a call. Each fetch
    is noted on the leg, so one Twilio says is still live is asked about again only after
    another RECONCILE_STALE_AFTER.
    """
    stale = list(
        silent_legs(now=timezone.now()).values_list("id", "sid")[: settings.RECONCILE_STALE_LIMIT]
    )
    with _recorded_run(kind=ReconcileRun.Kind.STALE) as run:
        client = twilio_rest_client()
        for call_id, sid in stale:
            try:
                leg = client.calls(sid).fetch()
            except TwilioRestException as error:
                if error.status != 404:
                    raise
                # Not fatal: one bad SID must not keep every other stale leg stale.
                run.errors += 1
                run.error_message = f"Twilio has no call {sid} (404)."
                leg = None
            _apply_legs(run, [leg] if leg else [])
            _note_checked(call_id, ended=leg is not None and leg.status in TERMINAL_STATUSES)
            if on_progress:
                on_progress(1)
    return run


def _note_checked(call_id: int, *, ended: bool) -> None:
    """Note when the sweep asked about a leg; a leg Twilio says has ended needs no note."""
    if ended:
        StaleLegCheck.objects.filter(call_id=call_id).delete()
    else:
        StaleLegCheck.objects.update_or_create(
            call_id=call_id, defaults={"checked_at": timezone.now()}
        )


def reconcile_call(*, sid: str, on_progress: ProgressCallback | None = None) -> ReconcileRun:
    """Fetch one leg and list its children, e.g. when a supervisor doubts what the log says."""
    with _recorded_run(kind=ReconcileRun.Kind.SINGLE, call_sid=sid) as run:
        client = twilio_rest_client()
        _apply_legs(run, [client.calls(sid).fetch()])
        if on_progress:
            on_progress(1)
        first_page = client.calls.page(parent_call_sid=sid, page_size=settings.RECONCILE_PAGE_SIZE)
        _apply_pages(run, first_page, on_progress)
    return run


def reconcile_recent_recordings(*, since: datetime | None = None) -> ReconcileRun:
    """List the recordings made since the last good watermark (minus the overlap) and upsert
    them: recordings whose callbacks never arrived appear, the others are left as they are."""
    kind = ReconcileRun.Kind.RECORDINGS
    automatic_since = _automatic_since(kind=kind)
    since = automatic_since if since is None else since.astimezone(UTC)
    with _recorded_run(kind=kind, since=since) as run:
        listing_started_at = timezone.now()
        recordings = twilio_rest_client().recordings.stream(
            date_created_after=since, page_size=settings.RECONCILE_PAGE_SIZE
        )
        while batch := list(itertools.islice(recordings, settings.RECONCILE_PAGE_SIZE)):
            _apply_recordings(run, batch)
        if since <= automatic_since:
            run.watermark = listing_started_at
    return run


def _automatic_since(*, kind: str = ReconcileRun.Kind.RECENT) -> datetime:
    last_watermark = (
        ReconcileRun.objects.filter(
            kind=kind,
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
def _recorded_run(
    *, kind: str, since: datetime | None = None, call_sid: str = ""
) -> Iterator[ReconcileRun]:
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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twilio-page") as downloader:
        legs = list(page)
        while True:
            upcoming = downloader.submit(_next_page_legs, page)
            run.pages += 1
            _apply_legs(run, legs)
            if on_progress:
                on_progress(len(legs))
            page, legs = upcoming.result()
            if page is None:
                return


def _next_page_legs(page: Page) -> tuple[Page | None, list[CallInstance]]:
    upcoming = page.next_page()
    return upcoming, list(upcoming) if upcoming is not None else []


def rest_leg_fault(leg: CallInstance, *, now: datetime) -> str | None:
    """Why a leg as the REST API describes it cannot be stored, or None when it can.

    Bounded as webhooks are: SIDs of calls, times between Twilio Voice's start and now, a
    duration a call can last, no NUL byte in text. Such a leg is skipped (and counted as an
    error of the run) rather than failing its whole page or poisoning the call log.
    """
    if not is_call_sid(leg.sid or ""):
        return "its SID is not a call SID"
    if leg.parent_call_sid and not is_call_sid(leg.parent_call_sid):
        return "its parent's SID is not a call SID"
    for moment in (leg.start_time, leg.end_time, leg.date_updated):
        if moment is not None and (
            not isinstance(moment, datetime) or not is_plausible_call_time(moment, now=now)
        ):
            return f"the time {moment} is not one Twilio could report"
    if leg.start_time and leg.end_time and leg.end_time < leg.start_time:
        return "it ends before it starts"
    if fault := _duration_fault(leg.duration):
        return fault
    texts = [leg._from, leg.to, leg.direction, leg.status, leg.price_unit, leg.account_sid]
    if any("\x00" in text for text in texts if text):
        return "a field contains a NUL byte"
    return None


@transaction.atomic
def _apply_legs(run: ReconcileRun, legs: list[CallInstance]) -> None:
    """Write the legs and the run's progress together, unless the run has lost its lock.

    A leg that cannot be stored (rest_leg_fault) is skipped and counted as an error.
    """
    storable = _storable(run, legs, fault_of=rest_leg_fault, noun="call")
    created, updated = calls_upsert_from_rest(legs=storable)
    run.calls_seen += len(legs)
    run.calls_created += created
    run.calls_updated += updated
    _record_progress(run)


def rest_recording_fault(recording: RecordingInstance, *, now: datetime) -> str | None:
    """Why a recording as the REST API describes it cannot be stored, or None when it can:
    bounded as recording callbacks are."""
    if not is_sid(recording.sid or "", prefix="RE"):
        return "its SID is not a recording SID"
    if not is_call_sid(recording.call_sid or ""):
        return "its call's SID is not a call SID"
    start = recording.start_time
    if start is not None and (
        not isinstance(start, datetime) or not is_plausible_call_time(start, now=now)
    ):
        return f"the time {start} is not one Twilio could report"
    if fault := _duration_fault(recording.duration):
        return fault
    texts = [str(recording.source or ""), str(recording.status or ""), recording.account_sid]
    if any("\x00" in text for text in texts if text):
        return "a field contains a NUL byte"
    return None


def _duration_fault(value: str | None) -> str | None:
    """Why a duration the REST API lists cannot be stored; Twilio's -1 (still in progress)
    is unknown, not a fault."""
    text = value or ""
    try:
        seconds = parse_twilio_count(text)
    except ValueError:
        return f"its duration {text[:20]!r} is not a whole number"
    if seconds is not None and not is_plausible_call_duration(seconds):
        return f"its duration {text[:20]!r} is longer than a call can last"
    return None


@transaction.atomic
def _apply_recordings(run: ReconcileRun, recordings: list[RecordingInstance]) -> None:
    """Write the recordings and the run's progress together; skip (and count as errors)
    those that cannot be stored."""
    storable = _storable(run, recordings, fault_of=rest_recording_fault, noun="recording")
    run.pages += 1
    run.recordings_seen += len(recordings)
    recordings_upsert_from_rest(recordings=storable)
    _record_progress(run)


def _storable(
    run: ReconcileRun,
    resources: list[Resource],
    *,
    fault_of: Callable[..., str | None],
    noun: str,
) -> list[Resource]:
    """The resources that can be stored; each other one is logged and counted as an error
    of the run, rather than failing its whole page."""
    now = timezone.now()
    storable = []
    for resource in resources:
        fault = fault_of(resource, now=now)
        if fault is None:
            storable.append(resource)
            continue
        logger.warning("Skipped %s %r from Twilio's REST API: %s", noun, resource.sid, fault)
        run.errors += 1
        run.error_message = f"Skipped {noun} {str(resource.sid)[:40]!r}: {fault}."
    return storable


def _record_progress(run: ReconcileRun) -> None:
    """Save the run's counts and heartbeat, unless the run has lost its lock."""
    still_ours = ReconcileRun.objects.filter(
        pk=run.pk, outcome=ReconcileRun.Outcome.RUNNING
    ).update(
        pages=run.pages,
        calls_seen=run.calls_seen,
        calls_created=run.calls_created,
        calls_updated=run.calls_updated,
        recordings_seen=run.recordings_seen,
        heartbeat_at=timezone.now(),
    )
    if not still_ours:
        raise ReconcileLockLost("This run was declared abandoned; another may be writing.")
