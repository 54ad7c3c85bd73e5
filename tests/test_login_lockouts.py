"""Login lockouts: a stranger locks out only himself, never a user or a whole office.

Each client here is a real connection from its own loopback address (127.0.0.x), or comes
through a trusted proxy that names it in X-Forwarded-For.
"""

import re
from ipaddress import ip_network

import pytest
import requests
from axes.models import AccessAttempt
from django.db import connection
from django.urls import reverse
from requests.adapters import HTTPAdapter

from tests.factories import DEFAULT_PASSWORD, AgentFactory, UserFactory
from tests.test_settings import run_manage
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db(transaction=True)

WRONG_PASSWORD = "not-the-password"
STRANGER = "127.0.0.66"
OFFICE = "127.0.0.10"


class SourceAddressAdapter(HTTPAdapter):
    """Connects from the given local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


def api_login(session, live_server, username, password, **headers) -> int:
    return session.post(
        live_server.url + "/api/auth/token/",
        data={"username": username, "password": password},
        headers=headers,
    ).status_code


def page_login(session, live_server, username, password) -> requests.Response:
    page = session.get(live_server.url + "/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return session.post(
        live_server.url + "/login/",
        {"csrfmiddlewaretoken": csrf, "username": username, "password": password},
    )


def test_a_stranger_guessing_her_password_does_not_lock_her_out_of_her_own_address(
    live_server, settings
):
    UserFactory(username="supervisor")
    stranger = client_at(STRANGER)

    guesses = [
        api_login(stranger, live_server, "supervisor", WRONG_PASSWORD)
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert guesses[-1] == 429
    assert api_login(stranger, live_server, "supervisor", DEFAULT_PASSWORD) == 429
    assert api_login(client_at(OFFICE), live_server, "supervisor", DEFAULT_PASSWORD) == 200
    assert page_login(client_at(OFFICE), live_server, "supervisor", DEFAULT_PASSWORD).ok


def test_guessing_many_usernames_from_one_address_locks_that_address_at_its_ceiling(
    live_server, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    UserFactory(username="frank")
    stranger = client_at(STRANGER)

    below_ceiling = [
        api_login(stranger, live_server, f"guess{number}", WRONG_PASSWORD)
        for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1)
    ]
    at_ceiling = api_login(stranger, live_server, "guess-last", WRONG_PASSWORD)

    assert set(below_ceiling) == {400}
    assert at_ceiling == 429
    assert api_login(stranger, live_server, "frank", DEFAULT_PASSWORD) == 429
    assert api_login(client_at(OFFICE), live_server, "frank", DEFAULT_PASSWORD) == 200


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(live_server, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1")]
    UserFactory(username="dana")
    proxy = client_at("127.0.0.1")

    def through_proxy(username, password, forwarded_for):
        headers = {"X-Forwarded-For": forwarded_for}
        return api_login(proxy, live_server, username, password, **headers)

    # The stranger makes up an address of his own left of the one the proxy appends.
    guesses = [
        through_proxy("dana", WRONG_PASSWORD, f"198.51.100.{number}, 203.0.113.66")
        for number in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert guesses[-1] == 429
    assert through_proxy("dana", DEFAULT_PASSWORD, "203.0.113.66") == 429
    assert through_proxy("dana", DEFAULT_PASSWORD, "192.0.2.10") == 200


def test_a_proxy_forwarding_no_address_counts_its_own_and_answers_as_usual(live_server, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1")]
    UserFactory(username="kim")
    proxy = client_at("127.0.0.1")

    answers = [
        api_login(proxy, live_server, "kim", WRONG_PASSWORD, **{"X-Forwarded-For": forwarded})
        for forwarded in ["not-an-address", "", "203.0.113.5, <script>", "1.2.3.4.5"]
    ]

    assert answers == [400, 400, 400, 400]
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


def test_x_forwarded_for_from_a_peer_that_is_no_trusted_proxy_is_ignored(live_server, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1")]
    UserFactory(username="gail")
    stranger = client_at(STRANGER)

    for number in range(settings.AXES_FAILURE_LIMIT):
        api_login(stranger, live_server, "gail", WRONG_PASSWORD,
                  **{"X-Forwarded-For": f"198.51.100.{number}"})  # fmt: skip

    assert api_login(stranger, live_server, "gail", DEFAULT_PASSWORD) == 429
    assert api_login(client_at(OFFICE), live_server, "gail", DEFAULT_PASSWORD) == 200


def database_url_of_this_test() -> str:
    """The database this test runs on, for a manage.py started beside it."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def lock_out(live_server, settings, username: str) -> None:
    stranger = client_at(STRANGER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_login(stranger, live_server, username, WRONG_PASSWORD)
    assert api_login(stranger, live_server, username, DEFAULT_PASSWORD) == 429


def test_a_supervisor_lifts_an_agents_lockouts_with_an_admin_action(live_server, settings):
    agent = AgentFactory(user__username="hank")
    lock_out(live_server, settings, "hank")
    supervisor = UserFactory(is_staff=True, groups=[SUPERVISORS])
    admin = client_at(STRANGER)
    page_login(admin, live_server, supervisor.username, DEFAULT_PASSWORD)
    changelist = live_server.url + reverse("admin:agents_agent_changelist")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin.get(changelist).text)[1]

    lifted = admin.post(
        changelist,
        {"action": "lift_login_lockouts", "_selected_action": [agent.pk],
         "csrfmiddlewaretoken": csrf},
    )  # fmt: skip

    assert "Lifted the login lockouts of 1 agent(s)" in lifted.text
    assert api_login(client_at(STRANGER), live_server, "hank", DEFAULT_PASSWORD) == 200


def test_an_operator_lifts_a_lockout_from_the_shell(live_server, settings):
    UserFactory(username="ivan")
    lock_out(live_server, settings, "ivan")

    result = run_manage("axes_reset_username", "ivan", DATABASE_URL=database_url_of_this_test())

    assert result.returncode == 0, result.stderr
    assert "attempts removed" in result.stdout
    assert api_login(client_at(STRANGER), live_server, "ivan", DEFAULT_PASSWORD) == 200
