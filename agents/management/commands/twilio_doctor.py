"""manage.py twilio_doctor [--json]: check the Twilio setup; exit 1 when a check FAILs."""

import json
import sys

from django.core.management.base import BaseCommand, CommandParser

from agents.doctor import Finding, Level, doctor_ok, twilio_doctor


class Command(BaseCommand):
    help = (
        "Check the Twilio account, API key, TwiML Apps, numbers, push credentials, caller IDs "
        "and public URL: one line each, OK/WARN/FAIL with the fix. Exit status 1 on any FAIL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON for monitoring."
        )

    def handle(self, *args: object, as_json: bool, **options: object) -> None:
        findings = twilio_doctor()
        healthy = doctor_ok(findings)
        if as_json:
            self.stdout.write(_dumps(healthy, findings))
        else:
            styles = {Level.OK: self.style.SUCCESS, Level.WARN: self.style.WARNING}
            for finding in findings:
                self.stdout.write(styles.get(finding.level, self.style.ERROR)(str(finding)))
        if not healthy:
            sys.exit(1)


def _dumps(healthy: bool, findings: list[Finding]) -> str:
    return json.dumps(
        {"ok": healthy, "findings": [finding.as_json() for finding in findings]}, indent=2
    )
