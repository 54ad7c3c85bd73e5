"""manage.py twilio_auth_token [create-secondary|promote|delete-secondary]: rotate the
account's Auth Token, which signs every webhook, without refusing one signed webhook.

The steps, each run once:
  1. create-secondary  Twilio makes a second Auth Token; the only time this prints a secret.
  2. (deploy)          Set TWILIO_AUTH_TOKEN_SECONDARY to it everywhere: either token passes.
  3. promote           Twilio signs with the new token; the old one stops working.
  4. (deploy)          Set TWILIO_AUTH_TOKEN to the new token, unset the secondary.
Without an action it says which setting Twilio signs with today and what comes next.
delete-secondary abandons a rotation before step 3.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from agents.doctor import signing_token_finding
from voiceproject.twilio_rest import (
    TwilioCredentialsRejected,
    TwilioUnavailable,
    twilio_rest_client,
    twilio_rest_client_signed_in_with,
)

STEPS = """The rotation, one step at a time:
  1. manage.py twilio_auth_token create-secondary
  2. set TWILIO_AUTH_TOKEN_SECONDARY to the token it prints, on every server, and deploy
  3. manage.py twilio_auth_token promote
  4. set TWILIO_AUTH_TOKEN to that token, unset TWILIO_AUTH_TOKEN_SECONDARY, and deploy"""


class Command(BaseCommand):
    help = (
        "Rotate the Twilio Auth Token that signs webhooks: create-secondary, deploy it as "
        "TWILIO_AUTH_TOKEN_SECONDARY, promote, then make it TWILIO_AUTH_TOKEN. Without an "
        "action: which token Twilio signs with and the next step."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            choices=["create-secondary", "promote", "delete-secondary"],
            help="the step to take; none to see where the rotation stands",
        )

    def handle(self, *args: object, action: str | None, **options: object) -> None:
        client = twilio_rest_client()
        try:
            if action == "create-secondary":
                self._create_secondary(client)
            elif action == "promote":
                self._promote(client)
            elif action == "delete-secondary":
                client.accounts.v1.secondary_auth_token().delete()
                self.stdout.write(
                    "Deleted the secondary Auth Token at Twilio: unset "
                    "TWILIO_AUTH_TOKEN_SECONDARY and deploy. Twilio still signs with "
                    "TWILIO_AUTH_TOKEN."
                )
            else:
                account = client.api.v2010.account.fetch()
                self.stdout.write(str(signing_token_finding(account.auth_token or "")))
                self.stdout.write(STEPS)
        except (TwilioCredentialsRejected, TwilioUnavailable, TwilioException) as error:
            raise CommandError(f"Twilio could not be asked: {error}") from error

    def _create_secondary(self, client: Client) -> None:
        created = client.accounts.v1.secondary_auth_token().create()
        # Twilio shows a secondary token once; the operator has to copy it from here.
        self.stdout.write(
            "Twilio made a secondary Auth Token (shown this once):\n"
            f"  TWILIO_AUTH_TOKEN_SECONDARY={created.secondary_auth_token}\n"
            "Set it on every server and deploy; then run `manage.py twilio_auth_token "
            "promote`. Until then Twilio still signs with TWILIO_AUTH_TOKEN."
        )

    def _promote(self, client: Client) -> None:
        secondary = settings.TWILIO_AUTH_TOKEN_SECONDARY
        if not secondary or secondary == settings.TWILIO_AUTH_TOKEN:
            # Promoting first would sign webhooks with a token no server accepts yet.
            raise CommandError(
                "TWILIO_AUTH_TOKEN_SECONDARY is not set to the new token here: set it on "
                "every server and deploy before promoting, or webhooks signed with it are "
                "refused."
            )
        try:
            twilio_rest_client_signed_in_with(secondary).api.v2010.account.fetch()
        except TwilioCredentialsRejected as error:
            raise CommandError(
                "Twilio refuses TWILIO_AUTH_TOKEN_SECONDARY: it is not the token that "
                "create-secondary printed. Correct it everywhere and deploy before promoting."
            ) from error
        client.accounts.v1.auth_token_promotion().update()
        self.stdout.write(
            "Promoted: Twilio signs webhooks with TWILIO_AUTH_TOKEN_SECONDARY's token now and "
            "the old one no longer works. Set TWILIO_AUTH_TOKEN to it, unset "
            "TWILIO_AUTH_TOKEN_SECONDARY and deploy."
        )
