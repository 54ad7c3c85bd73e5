"""factory_boy factories for the project's models."""

import secrets

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from agents.models import Agent, PhoneNumber, TwimlApp
from calls.models import Call, Recording
from inbound.models import (
    Holiday,
    Menu,
    MenuOption,
    NumberHours,
    Queue,
    QueueMember,
    QueueNumber,
    Schedule,
    WeeklyInterval,
)
from tokens.api_tokens import api_token_create
from voiceproject.roles import roles_create

DEFAULT_PASSWORD = "correct-horse-battery-staple"


def random_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def groups(self, create, names):
        """UserFactory(groups=["Analysts"]) puts the user in those role groups.

        The groups come from a data migration, which a transactional test's flush empties:
        make them again when they are missing.
        """
        if create and names:
            roles_create(group_model=Group, permission_model=Permission)
            self.groups.add(*Group.objects.filter(name__in=names))
        self.save()


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"group{n}")

    @factory.post_generation
    def permissions(self, create, names):
        """GroupFactory(permissions=["calls.view_call"]) grants those permissions."""
        for name in names or ():
            app_label, codename = name.split(".")
            self.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class TwimlAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TwimlApp

    sid = factory.LazyFunction(lambda: random_sid("AP"))
    friendly_name = factory.Sequence(lambda n: f"Softphone {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    identity = factory.Sequence(lambda n: f"agent_{n}")
    twiml_app = factory.SubFactory(TwimlAppFactory)
    caller_id = "+14155550100"


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    number = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    friendly_name = factory.Sequence(lambda n: f"Line {n}")


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    sid = factory.LazyFunction(lambda: random_sid("CA"))
    account_sid = factory.LazyFunction(lambda: random_sid("AC"))
    direction = "inbound"
    from_number = "+14155550199"
    to_number = "+14155550100"
    status = "completed"


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    sid = factory.LazyFunction(lambda: random_sid("RE"))
    call = factory.SubFactory(CallFactory)
    kind = "call"
    status = "completed"
    channels = 2
    duration = 42
    source = factory.LazyAttribute(
        lambda recording: "RecordVerb" if recording.kind == "voicemail" else "DialVerb"
    )


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"Office hours {n}")
    time_zone = "Europe/Berlin"


class WeeklyIntervalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklyInterval

    schedule = factory.SubFactory(ScheduleFactory)


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    schedule = factory.SubFactory(ScheduleFactory)
    name = "Holiday"


class NumberHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberHours

    phone_number = factory.SubFactory(PhoneNumberFactory)
    schedule = factory.SubFactory(ScheduleFactory)


class MenuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Menu

    phone_number = factory.SubFactory(PhoneNumberFactory)
    greeting = "For sales press 1. For support press 2."


class MenuOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuOption

    menu = factory.SubFactory(MenuFactory)
    action = "ring"


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Queue {n}")

    @factory.post_generation
    def agents(self, create, agents):
        """QueueFactory(agents=[alice, bob]) makes them members, in that order."""
        for order, agent in enumerate(agents or ()):
            QueueMember.objects.create(queue=self, agent=agent, order=order)

    @factory.post_generation
    def numbers(self, create, numbers):
        """QueueFactory(numbers=[line]) sends the line's callers to the queue."""
        for number in numbers or ():
            QueueNumber.objects.create(queue=self, number=number)


def api_token_header(user, *, name: str = "test device") -> dict[str, str]:
    """The header a device sends after logging in with POST /api/auth/token/."""
    return {"Authorization": f"Token {api_token_create(user=user, name=name).key}"}
