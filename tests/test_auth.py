"""Logging in: the browser's /login/ and the mobile apps' POST /api/auth/token/."""

import jwt
import pytest

from tests.factories import DEFAULT_PASSWORD, AgentFactory, UserFactory
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def test_agent_trades_username_and_password_for_a_named_api_token(client):
    agent = AgentFactory(user__username="dana")

    response = client.post(
        "/api/auth/token/",
        {"username": "dana", "password": DEFAULT_PASSWORD, "name": "Dana's iPhone"},
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "name", "expires_at"}
    stored = ApiToken.objects.get(user=agent.user)
    assert stored.name == "Dana's iPhone"
    assert body["token"] not in stored.key_hash


def test_api_token_from_login_gets_an_access_token(client):
    AgentFactory(user__username="erin", identity="erin")
    login = client.post("/api/auth/token/", {"username": "erin", "password": DEFAULT_PASSWORD})

    response = client.get(
        "/api/token/", headers={"Authorization": f"Token {login.json()['token']}"}
    )

    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["grants"]["identity"] == "erin"


def test_wrong_password_gets_no_api_token(client):
    UserFactory(username="frank")

    response = client.post("/api/auth/token/", {"username": "frank", "password": "wrong"})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert not ApiToken.objects.exists()


def test_inactive_user_gets_no_api_token(client):
    UserFactory(username="gone", is_active=False)

    response = client.post("/api/auth/token/", {"username": "gone", "password": DEFAULT_PASSWORD})

    assert response.status_code == 400


def test_a_login_beyond_the_cap_ends_the_users_oldest_api_token(client, settings):
    settings.API_TOKENS_PER_USER = 3
    AgentFactory(user__username="hope")
    keys = [
        client.post(
            "/api/auth/token/",
            {"username": "hope", "password": DEFAULT_PASSWORD, "name": f"device {number}"},
        ).json()["token"]
        for number in range(4)
    ]

    answers = [
        client.get("/api/token/", headers={"Authorization": f"Token {key}"}).status_code
        for key in keys
    ]

    assert answers == [401, 200, 200, 200]
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == [
        "device 1",
        "device 2",
        "device 3",
    ]


def test_the_cap_on_api_tokens_leaves_other_users_tokens_alone(client, settings):
    settings.API_TOKENS_PER_USER = 1
    AgentFactory(user__username="ike")
    AgentFactory(user__username="jo")

    for username in ["ike", "jo", "ike"]:
        client.post("/api/auth/token/", {"username": username, "password": DEFAULT_PASSWORD})

    assert sorted(ApiToken.objects.values_list("user__username", flat=True)) == ["ike", "jo"]


def test_login_page_renders(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_agent_logs_in_and_the_home_page_names_its_identity(client):
    AgentFactory(user__username="gina", identity="gina_desk")

    response = client.post(
        "/login/", {"username": "gina", "password": DEFAULT_PASSWORD}, follow=True
    )

    assert response.redirect_chain == [("/", 302)]
    assert b"gina_desk" in response.content


def test_wrong_password_on_the_login_page_shows_an_error(client):
    UserFactory(username="hank")

    response = client.post("/login/", {"username": "hank", "password": "wrong"})

    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client):
    client.force_login(UserFactory())

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/api/token/").status_code == 401


def test_home_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
