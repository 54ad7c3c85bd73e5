"""manage.py twilio_sync [--apply]: import the account's apps and numbers, set their URLs."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from twilio.base.exceptions import TwilioException

from agents.provisioning import WebhookBaseUrlMissing, twilio_sync
from voiceproject.twilio_rest import (
    TwilioCredentialsMissing,
    TwilioCredentialsRejected,
    TwilioUnavailable,
)


class Command(BaseCommand):
    help = (
        "Import the Twilio account's TwiML Apps and phone numbers and show each one's voice "
        "URLs against the ones this server needs; --apply sets them (and creates a TwiML App "
        "when the account has none)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply", action="store_true", help="Set the URLs through Twilio's REST API."
        )

    def handle(self, *args: object, apply: bool, **options: object) -> None:
        try:
            report = twilio_sync(apply=apply)
        except (
            WebhookBaseUrlMissing,
            TwilioCredentialsMissing,
            TwilioCredentialsRejected,
            TwilioUnavailable,
            TwilioException,
        ) as error:
            raise CommandError(str(error)) from error
        for line in report.lines():
            self.stdout.write(line)
        if report.pending:
            self.stdout.write(
                f"{len(report.pending)} to change: run again with --apply to set them."
            )
        elif not apply or not report.writes:
            self.stdout.write(self.style.SUCCESS("Every URL points here."))
