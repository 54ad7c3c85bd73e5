from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from calls.reconcile.runs import reconcile_call, reconcile_recent_calls
from voiceproject.twilio_ids import is_call_sid


def aware_datetime(value: str) -> datetime:
    """Read an ISO 8601 time; one without a zone is taken as UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Reconcile the call table with Twilio's REST API in the foreground: calls started "
        "since the last good watermark, since a given time, or one call and its children."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--since", type=aware_datetime, help="ISO 8601 start, e.g. 2026-11-23T08:00:00Z"
        )
        target.add_argument("--sid", help="one call SID (CA…): that leg and its children")

    def handle(
        self, *args: Any, since: datetime | None = None, sid: str | None = None, **options: Any
    ) -> None:
        if sid is not None and not is_call_sid(sid):
            raise CommandError(f"{sid!r} is not a call SID (CA followed by 32 hex digits).")
        with tqdm(unit=" calls", disable=options["verbosity"] == 0) as progress:
            try:
                if sid:
                    run = reconcile_call(sid=sid, on_progress=progress.update)
                else:
                    run = reconcile_recent_calls(since=since, on_progress=progress.update)
            except Exception as error:
                raise CommandError(f"Reconciliation failed: {error}") from error
        self.stdout.write(
            f"{run.get_outcome_display()}: {run.pages} pages, {run.calls_seen} calls seen, "
            f"{run.calls_created} created, {run.calls_updated} updated, {run.errors} errors."
        )
