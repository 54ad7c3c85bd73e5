import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from agents.models import Agent, PhoneNumber, TwimlApp
from calls.models import StatsDay, StatsDirtyDay
from tests.factories import UserFactory
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db


def seed_demo(*arguments) -> dict[str, str]:
    """Run seed_demo and return the passwords it printed, by username."""
    output = StringIO()
    call_command("seed_demo", *arguments, stdout=output)
    return dict(re.findall(r"^\s+(\S+)\s+password: (\S+)$", output.getvalue(), re.MULTILINE))


def authenticate(*, username: str, password: str):
    """Check a login as the login page does: with a request, which django-axes requires."""
    return django_authenticate(
        RequestFactory().post("/login/"), username=username, password=password
    )


def test_seed_demo_creates_staff_agents_app_and_number_and_prints_passwords_once():
    passwords = seed_demo()

    assert set(passwords) == {"supervisor", "analyst", "alice", "bob"}
    for username, password in passwords.items():
        assert authenticate(username=username, password=password) is not None
    supervisor = authenticate(username="supervisor", password=passwords["supervisor"])
    analyst = authenticate(username="analyst", password=passwords["analyst"])
    assert supervisor.is_staff
    assert not supervisor.is_superuser
    assert list(supervisor.groups.values_list("name", flat=True)) == [SUPERVISORS]
    assert list(analyst.groups.values_list("name", flat=True)) == [ANALYSTS]
    app = TwimlApp.objects.get()
    assert sorted(Agent.objects.values_list("identity", "twiml_app", "is_active")) == [
        ("alice", app.pk, True),
        ("bob", app.pk, True),
    ]
    number = PhoneNumber.objects.get()
    assert sorted(number.agents.values_list("identity", flat=True)) == ["alice", "bob"]


def test_seed_demo_rolls_up_the_statistics_of_its_settled_days():
    seed_demo("--days", "4")

    # Four days of calls, today's and yesterday's not settled yet.
    assert StatsDay.objects.count() == 2
    assert not StatsDirtyDay.objects.exists()


def test_seed_demo_run_again_changes_nothing_and_prints_no_password():
    first = seed_demo()

    assert seed_demo() == {}
    assert authenticate(username="alice", password=first["alice"]) is not None
    assert Agent.objects.count() == 2


def test_seed_demo_reset_passwords_prints_new_ones():
    first = seed_demo()

    second = seed_demo("--reset-passwords")

    assert set(second) == set(first)
    assert authenticate(username="bob", password=first["bob"]) is None
    assert authenticate(username="bob", password=second["bob"]) is not None


def test_demo_agent_logs_in_and_gets_a_token(client):
    passwords = seed_demo()
    client.post("/login/", {"username": "alice", "password": passwords["alice"]})

    response = client.get("/api/token/")

    assert response.status_code == 200
    assert response.json()["identity"] == "alice"


def test_seed_demo_refuses_a_database_that_is_not_the_demos():
    UserFactory(username="maria")

    with pytest.raises(CommandError, match="not the demo's"):
        seed_demo()

    assert not TwimlApp.objects.exists()
    assert list(User.objects.values_list("username", flat=True)) == ["maria"]


def test_seed_demo_with_force_seeds_a_database_that_is_not_the_demos():
    UserFactory(username="maria")

    passwords = seed_demo("--force", "--days", "1")

    assert set(passwords) == {"supervisor", "analyst", "alice", "bob"}
