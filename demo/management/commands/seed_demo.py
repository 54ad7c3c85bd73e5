"""Create demo users, agents, a TwiML App and a number so a newcomer can click around."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.models import Agent, PhoneNumber, TwimlApp
from calls.log.rollup import call_stats_rollup
from calls.models import Call
from demo.calls import demo_calls_create
from voiceproject.roles import ANALYSTS, SUPERVISORS, roles_create

User = get_user_model()

DEMO_APP_SID = "AP" + "d" * 32
DEMO_NUMBER = "+14155550100"
# Used only when TWILIO_ACCOUNT_SID is unset: demo calls still need an account SID.
DEMO_ACCOUNT_SID = "AC" + "0" * 32
DEMO_AGENTS = [
    ("alice", "Alice", "Agent", "+14155550100"),
    ("bob", "Bob", "Agent", "+14155550100"),
]


def database_is_the_demos() -> bool:
    """An empty database, or one seed_demo made: never a production one by mistake."""
    return not User.objects.exists() or TwimlApp.objects.filter(sid=DEMO_APP_SID).exists()


class Command(BaseCommand):
    help = "Create demo users and Twilio resources; passwords are printed once, on creation."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give existing demo users new passwords and print them.",
        )
        parser.add_argument(
            "--calls",
            action="store_true",
            help="Add demo calls even when the call table is not empty.",
        )
        parser.add_argument(
            "--days", type=int, default=30, help="How many days of demo calls to add (30)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed a database that is not the demo's (it has users and no demo TwiML App).",
        )

    @transaction.atomic
    def handle(self, *args, reset_passwords=False, calls=False, days=30, force=False, **options):
        if not force and not database_is_the_demos():
            raise CommandError(
                "This database is not the demo's: it has users and no demo TwiML App. "
                "seed_demo adds users with known roles and a month of made-up calls; "
                "pass --force to add them anyway."
            )
        app, _ = TwimlApp.objects.get_or_create(
            sid=DEMO_APP_SID,
            defaults={"friendly_name": "Demo softphone", "description": "Created by seed_demo."},
        )
        credentials: list[tuple[str, str]] = []
        supervisor = self.demo_user("supervisor", SUPERVISORS, reset_passwords, credentials)
        supervisor.is_staff = True
        supervisor.save(update_fields=["is_staff"])
        analyst = self.demo_user("analyst", ANALYSTS, reset_passwords, credentials)
        analyst.is_staff = True
        analyst.save(update_fields=["is_staff"])

        agents = []
        for username, first_name, last_name, caller_id in DEMO_AGENTS:
            user = self.demo_user(username, None, reset_passwords, credentials)
            user.first_name, user.last_name = first_name, last_name
            user.save(update_fields=["first_name", "last_name"])
            agent, _ = Agent.objects.get_or_create(
                user=user,
                defaults={"identity": username, "twiml_app": app, "caller_id": caller_id},
            )
            agents.append(agent)

        number, _ = PhoneNumber.objects.get_or_create(
            number=DEMO_NUMBER, defaults={"friendly_name": "Demo support line"}
        )
        number.agents.add(*agents)

        if calls or not Call.objects.exists():
            made = demo_calls_create(
                account_sid=settings.TWILIO_ACCOUNT_SID or DEMO_ACCOUNT_SID,
                application_sid=app.sid,
                number=number.number,
                caller_ids={agent.identity: agent.caller_id for agent in agents},
                days=days,
            )
            self.stdout.write(f"Created {made} demo calls over the last {days} days.")
            # As beat would soon: the statistics read settled days from their rollup.
            call_stats_rollup()

        if credentials:
            self.stdout.write("Demo users (passwords are shown this once):")
            for username, password in credentials:
                self.stdout.write(f"  {username:<12} password: {password}")
        else:
            self.stdout.write("Demo users already exist; --reset-passwords prints new passwords.")

    def demo_user(self, username, group_name, reset_password, credentials):
        user, created = User.objects.get_or_create(username=username)
        if created or reset_password:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save(update_fields=["password"])
            credentials.append((username, password))
        if group_name:
            # The groups come from a migration; `manage.py flush` empties them.
            roles_create(group_model=Group, permission_model=Permission)
            user.groups.add(Group.objects.get(name=group_name))
        return user
