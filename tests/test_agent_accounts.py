"""Supervisors manage agents' logins and passwords without breaking history or escalating."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client

from agents.constants import Availability
from agents.models import Agent, PresenceChange
from agents.selectors import NotAnActiveAgent, active_agent_for_user
from tests.factories import (
    DEFAULT_PASSWORD,
    AgentFactory,
    CallFactory,
    UserFactory,
    api_token_header,
)
from tests.test_agents_admin import agent_change_form
from tests.test_presence_routing import available, ring, rung, support_line
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "a-new-long-password-42"


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS]))
    return client


def logged_in_client(user) -> Client:
    """A separate browser in which the user logged in with its password."""
    browser = Client()
    assert logs_in(browser, username=user.username, password=DEFAULT_PASSWORD)
    return browser


def logs_in(browser: Client, *, username: str, password: str) -> bool:
    """Log in through the login page, as a person does; tell whether it worked."""
    response = browser.post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def api_token_refused(header: dict[str, str]) -> bool:
    """The API no longer accepts this device's token."""
    return Client().get("/api/token/", headers=header).status_code == 401


def still_logged_in(browser: Client) -> bool:
    return browser.get("/").status_code == 200


def test_deleting_an_agent_with_calls_is_refused_in_the_admin_with_the_reason(supervisor_client):
    agent = AgentFactory(identity="alice")
    CallFactory.create_batch(3, agent=agent)

    page = supervisor_client.get(f"/admin/agents/agent/{agent.pk}/delete/")
    response = supervisor_client.post(f"/admin/agents/agent/{agent.pk}/delete/", {"post": "yes"})

    text = page.content.decode()
    assert "An agent with calls cannot be deleted" in text
    assert "alice: 3 call leg(s)" in text
    assert response.status_code == 200
    assert Agent.objects.filter(pk=agent.pk).exists()
    assert set(agent.calls.values_list("agent_id", flat=True)) == {agent.pk}


def test_deleting_agents_with_calls_in_bulk_is_refused_with_the_reason(supervisor_client):
    with_calls, without_calls = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    CallFactory(agent=with_calls)

    response = supervisor_client.post(
        "/admin/agents/agent/",
        {"action": "delete_selected", "_selected_action": [with_calls.pk, without_calls.pk]},
    )

    assert "An agent with calls cannot be deleted" in response.content.decode()
    assert Agent.objects.count() == 2


def test_an_agent_without_calls_can_still_be_deleted(supervisor_client):
    agent = AgentFactory()

    response = supervisor_client.post(f"/admin/agents/agent/{agent.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Agent.objects.filter(pk=agent.pk).exists()
    agent.user.refresh_from_db()
    assert not agent.user.is_active


def test_the_orm_refuses_to_delete_an_agent_with_calls_or_its_user():
    agent = AgentFactory()
    CallFactory(agent=agent)

    with pytest.raises(ProtectedError):
        agent.delete()
    with pytest.raises(ProtectedError):
        agent.user.delete()


def test_the_database_refuses_to_delete_an_agent_with_calls():
    agent = AgentFactory()
    CallFactory(agent=agent)

    # In a savepoint, rolled back after: SQLite checks the constraints again when the test
    # ends, and would find the deleted agent missing there too.
    before_delete = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Agent._meta.db_table} WHERE id = %s", [agent.pk])
    with pytest.raises(IntegrityError):
        connection.check_constraints()
    transaction.savepoint_rollback(before_delete)


def test_deactivating_keeps_history_and_ends_the_login_sessions_and_api_tokens(supervisor_client):
    agent = AgentFactory(identity="alice", availability="available")
    call = CallFactory(agent=agent)
    token_header = api_token_header(agent.user)
    agents_browser = logged_in_client(agent.user)

    response = supervisor_client.post(
        "/admin/agents/agent/",
        {"action": "deactivate_agents", "_selected_action": [agent.pk]},
        follow=True,
    )

    assert "Deactivated 1 agent(s)" in response.content.decode()
    agent.refresh_from_db()
    agent.user.refresh_from_db()
    assert (agent.is_active, agent.user.is_active, agent.availability) == (False, False, "offline")
    assert api_token_refused(token_header)
    assert not still_logged_in(agents_browser)
    assert not logs_in(Client(), username=agent.user.username, password=DEFAULT_PASSWORD)
    call.refresh_from_db()
    assert call.agent_id == agent.pk


def test_supervisor_disables_and_enables_a_login_from_the_agents_page(supervisor_client):
    agent = AgentFactory()
    token_header = api_token_header(agent.user)
    url = f"/admin/agents/agent/{agent.pk}/change/"

    disabled = supervisor_client.post(url, agent_change_form(agent, login_enabled=None))
    agent.user.refresh_from_db()
    was_active = agent.user.is_active
    enabled = supervisor_client.post(url, agent_change_form(agent))
    agent.user.refresh_from_db()

    assert (disabled.status_code, enabled.status_code) == (302, 302)
    assert was_active is False
    assert agent.user.is_active is True
    assert api_token_refused(token_header)


def test_disabling_a_login_on_the_agents_page_takes_the_agent_offline_so_calls_stop_ringing_it(
    supervisor_client, client
):
    agent = available("alice")
    support_line(agent)

    supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/change/", agent_change_form(agent, login_enabled=None)
    )

    agent.refresh_from_db()
    assert agent.availability == Availability.OFFLINE
    change = PresenceChange.objects.get(agent=agent)
    assert (change.to_availability, change.changed_by.username) == ("offline", "sue")
    assert rung(ring(client)) == []


def test_disabling_a_login_in_the_users_admin_takes_its_agent_offline(client):
    agent = available("alice")
    support_line(agent)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(superuser)
    user = agent.user
    form = {"username": user.username, "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0", "_save": "Save"}  # fmt: skip

    response = admin.post(f"/admin/auth/user/{user.pk}/change/", form)

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.availability == Availability.OFFLINE
    assert rung(ring(client)) == []


def test_supervisor_sets_an_agents_password_which_ends_its_sessions_and_tokens(
    supervisor_client,
):
    agent = AgentFactory()
    token_header = api_token_header(agent.user)
    agents_browser = logged_in_client(agent.user)
    url = f"/admin/agents/agent/{agent.pk}/password/"

    page = supervisor_client.get(url)
    response = supervisor_client.post(
        url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    change_page = supervisor_client.get(f"/admin/agents/agent/{agent.pk}/change/")
    assert page.status_code == 200
    assert "Set password" in change_page.content.decode()
    assert response.status_code == 302
    assert not still_logged_in(agents_browser)
    assert api_token_refused(token_header)
    assert logs_in(Client(), username=agent.user.username, password=NEW_PASSWORD)


def test_a_weak_password_is_refused_with_the_reason(supervisor_client):
    agent = AgentFactory()

    response = supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/password/",
        {"new_password1": "12345678", "new_password2": "12345678"},
    )

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert logs_in(Client(), username=agent.user.username, password=DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/admin/auth/group/",
        "/admin/auth/group/add/",
        "/admin/auth/permission/",
    ],
)
def test_a_supervisor_cannot_reach_users_groups_or_permissions(supervisor_client, url):
    assert supervisor_client.get(url).status_code in (403, 404)


def test_a_supervisor_cannot_open_a_users_own_admin_page(supervisor_client):
    agent = AgentFactory()

    for url in [
        f"/admin/auth/user/{agent.user.pk}/change/",
        f"/admin/auth/user/{agent.user.pk}/password/",
    ]:
        assert supervisor_client.get(url).status_code in (403, 404)


def test_a_supervisor_cannot_take_over_a_staff_account_through_its_agent_profile(
    supervisor_client,
):
    agent = AgentFactory(user=UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/agents/agent/{agent.pk}/change/"

    password = supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    change = supervisor_client.post(url, agent_change_form(agent, login_enabled=None))
    deactivate = supervisor_client.post(
        "/admin/agents/agent/",
        {"action": "deactivate_agents", "_selected_action": [agent.pk]},
        follow=True,
    )

    assert password.status_code == 403
    assert change.status_code == 302
    assert "only a superuser may disable it" in deactivate.content.decode()
    agent.user.refresh_from_db()
    assert agent.user.is_active
    assert agent.user.check_password(DEFAULT_PASSWORD)
    assert "Set password" not in supervisor_client.get(url).content.decode()


def test_an_agent_changes_its_own_password_and_its_other_sessions_end(client):
    agent = AgentFactory()
    token_header = api_token_header(agent.user)
    other_browser = logged_in_client(agent.user)
    logs_in(client, username=agent.user.username, password=DEFAULT_PASSWORD)

    page = client.get("/password_change/")
    response = client.post(
        "/password_change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == "/password_change/done/"
    assert still_logged_in(client)
    assert not still_logged_in(other_browser)
    assert api_token_refused(token_header)


def test_password_change_needs_a_login(client):
    response = client.get("/password_change/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_forgotten_password_is_reset_by_mail_printed_by_the_console_backend(
    client, settings, capsys
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    agent = AgentFactory(user=UserFactory(email="alice@example.com"))
    token_header = api_token_header(agent.user)

    asked = client.post("/password_reset/", {"email": "alice@example.com"})
    mail = capsys.readouterr().out
    link = re.search(r"http://testserver(/reset/\S+/)", mail)
    assert link, mail
    form_page = client.get(link.group(1), follow=True)
    done = client.post(
        form_page.request["PATH_INFO"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert asked.status_code == 302
    assert "To: alice@example.com" in mail
    assert done.status_code == 302
    assert done["Location"] == "/reset/done/"
    assert logs_in(Client(), username=agent.user.username, password=NEW_PASSWORD)
    assert api_token_refused(token_header)


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, mailoutbox):
    response = client.post("/password_reset/", {"email": "nobody@example.com"}, follow=True)

    assert "Check your mail" in response.content.decode()
    assert mailoutbox == []


def test_an_anonymous_visitor_is_no_agent_and_is_told_so():
    with pytest.raises(NotAnActiveAgent, match="not an agent"):
        active_agent_for_user(user=AnonymousUser(), purpose="use the softphone")
