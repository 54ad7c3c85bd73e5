from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from calls.log.rollup import ROLLUP_DAYS, call_stats_rollup


class Command(BaseCommand):
    help = (
        "Roll up the call statistics now: the settled days of the last year that have no "
        "rollup, and the days changes have marked since (beat does it every "
        "STATS_ROLLUP_INTERVAL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help=f"count every settled day of the last {ROLLUP_DAYS} days again",
        )

    def handle(self, *args: Any, rebuild: bool = False, **options: Any) -> None:
        outcome = call_stats_rollup(rebuild=rebuild)
        self.stdout.write(
            f"Rolled up {outcome.days_rolled_up} days; cleared {outcome.marks_cleared} marks."
        )
