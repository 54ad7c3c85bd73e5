"""GET/POST /api/token/: a Twilio AccessToken for the logged-in agent's own identity."""

import time
from datetime import datetime

import jwt
import pytest
from django.utils import timezone

from tests.conftest import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID
from tests.factories import AgentFactory, TwimlAppFactory, UserFactory, api_token_header
from tokens.api_tokens import api_token_create, api_token_key_hash
from tokens.authentication import token_owner_read
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

URL = "/api/token/"


def decode(access_token: str) -> tuple[dict, dict]:
    """Verify the signature with the API key secret, as Twilio does; return header and claims."""
    claims = jwt.decode(access_token, TEST_API_KEY_SECRET, algorithms=["HS256"])
    return jwt.get_unverified_header(access_token), claims


def test_token_carries_the_agents_identity_app_and_incoming_grant(client):
    agent = AgentFactory(identity="alice_01", incoming_allowed=True)
    before = int(time.time())

    response = client.get(URL, headers=api_token_header(agent.user))
    after = int(time.time())

    assert response.status_code == 200
    body = response.json()
    assert body["identity"] == "alice_01"
    assert body["ttl"] == 3600
    header, claims = decode(body["token"])
    assert header == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
    assert set(claims) == {"jti", "grants", "iss", "sub", "nbf", "exp"}
    key_sid, _, issued_at = claims["jti"].rpartition("-")
    assert key_sid == TEST_API_KEY_SID
    assert before <= int(issued_at) <= after
    assert claims["iss"] == TEST_API_KEY_SID
    assert claims["sub"] == TEST_ACCOUNT_SID
    assert before <= claims["nbf"] <= after
    assert before + 3600 <= claims["exp"] <= after + 3600
    assert claims["grants"] == {
        "identity": "alice_01",
        "voice": {
            "incoming": {"allow": True},
            "outgoing": {"application_sid": agent.twiml_app.sid},
        },
    }
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == claims["exp"]


def test_token_of_an_agent_without_incoming_calls_has_no_incoming_grant(client):
    agent = AgentFactory(incoming_allowed=False)

    response = client.get(URL, headers=api_token_header(agent.user))

    _, claims = decode(response.json()["token"])
    assert claims["grants"]["voice"] == {"outgoing": {"application_sid": agent.twiml_app.sid}}


APN_SID = "CR" + "a7" * 16
FCM_SID = "CR" + "f8" * 16


@pytest.fixture
def mobile_agent():
    """An agent whose app has a push credential for each platform."""
    return AgentFactory(
        twiml_app=TwimlAppFactory(apn_credential_sid=APN_SID, fcm_credential_sid=FCM_SID)
    )


@pytest.mark.parametrize(("platform", "expected"), [("ios", APN_SID), ("android", FCM_SID)])
def test_token_for_a_mobile_platform_carries_that_platforms_push_credential(
    client, mobile_agent, platform, expected
):
    response = client.get(URL, {"platform": platform}, headers=api_token_header(mobile_agent.user))

    _, claims = decode(response.json()["token"])
    assert claims["grants"]["voice"]["push_credential_sid"] == expected


def test_platform_may_be_posted_as_json(client, mobile_agent):
    response = client.post(
        URL,
        {"platform": "ios", "ttl": 600},
        content_type="application/json",
        headers=api_token_header(mobile_agent.user),
    )

    _, claims = decode(response.json()["token"])
    assert claims["grants"]["voice"]["push_credential_sid"] == APN_SID


def test_token_without_a_platform_has_no_push_credential(client, mobile_agent):
    response = client.get(URL, headers=api_token_header(mobile_agent.user))

    _, claims = decode(response.json()["token"])
    assert "push_credential_sid" not in claims["grants"]["voice"]


def test_token_for_a_platform_whose_credential_is_missing_has_none(client):
    agent = AgentFactory(twiml_app=TwimlAppFactory(apn_credential_sid=APN_SID))

    response = client.get(URL, {"platform": "android"}, headers=api_token_header(agent.user))

    _, claims = decode(response.json()["token"])
    assert "push_credential_sid" not in claims["grants"]["voice"]


def test_unknown_platform_is_refused_with_400(client, mobile_agent):
    response = client.get(URL, {"platform": "windows"}, headers=api_token_header(mobile_agent.user))

    assert response.status_code == 400
    assert response.json() == {"platform": ['"windows" is not a valid choice.']}


def test_answer_names_the_edge_softphones_connect_through(client, settings, mobile_agent):
    settings.TWILIO_REGION, settings.TWILIO_EDGE = "ie1", "dublin"

    response = client.get(URL, headers=api_token_header(mobile_agent.user))

    assert response.json()["edge"] == "dublin"


def test_edge_is_roaming_when_none_is_configured(client, mobile_agent):
    response = client.get(URL, headers=api_token_header(mobile_agent.user))

    assert response.json()["edge"] == "roaming"


def test_token_header_names_the_region_when_one_is_set(client, settings):
    settings.TWILIO_REGION = "ie1"
    agent = AgentFactory()

    response = client.get(URL, headers=api_token_header(agent.user))

    header, _ = decode(response.json()["token"])
    assert header == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1", "twr": "ie1"}


def test_token_lives_as_long_as_twilio_token_ttl(client, settings):
    settings.TWILIO_TOKEN_TTL = 600
    agent = AgentFactory()

    response = client.get(URL, headers=api_token_header(agent.user))

    body = response.json()
    _, claims = decode(body["token"])
    assert body["ttl"] == 600
    assert claims["exp"] - claims["nbf"] in (600, 601)


def test_post_issues_a_token_too(client):
    agent = AgentFactory(identity="bob")

    response = client.post(URL, headers=api_token_header(agent.user))

    assert response.status_code == 200
    _, claims = decode(response.json()["token"])
    assert claims["grants"]["identity"] == "bob"


@pytest.mark.parametrize("method", ["get", "post"])
def test_shorter_ttl_asked_for_is_honoured(client, method):
    agent = AgentFactory()

    response = getattr(client, method)(URL, {"ttl": 300}, headers=api_token_header(agent.user))

    body = response.json()
    _, claims = decode(body["token"])
    assert body["ttl"] == 300
    assert claims["exp"] - claims["nbf"] in (300, 301)


def test_ttl_in_a_json_body_is_honoured(client):
    agent = AgentFactory()

    response = client.post(
        URL, {"ttl": 120}, content_type="application/json", headers=api_token_header(agent.user)
    )

    assert response.json()["ttl"] == 120


@pytest.mark.parametrize("method", ["get", "post"])
def test_longer_ttl_asked_for_is_capped_at_the_configured_one(client, settings, method):
    settings.TWILIO_TOKEN_TTL = 900
    agent = AgentFactory()

    response = getattr(client, method)(
        URL, {"ttl": 86400 * 30}, headers=api_token_header(agent.user)
    )

    body = response.json()
    _, claims = decode(body["token"])
    assert body["ttl"] == 900
    assert claims["exp"] - claims["nbf"] in (900, 901)


def test_no_token_outlives_twilios_24_hour_maximum(client, settings):
    settings.TWILIO_TOKEN_TTL = 86400
    agent = AgentFactory()

    response = client.get(URL, {"ttl": 86401}, headers=api_token_header(agent.user))

    _, claims = decode(response.json()["token"])
    assert claims["exp"] - claims["nbf"] <= 86400 + 1


@pytest.mark.parametrize("ttl", ["abc", "59", "0", "-5", "1.5"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_invalid_ttl_is_refused_with_400(client, method, ttl):
    agent = AgentFactory()

    response = getattr(client, method)(URL, {"ttl": ttl}, headers=api_token_header(agent.user))

    assert response.status_code == 400
    assert "ttl" in response.json()


def test_no_parameter_gets_a_token_for_another_identity(client):
    AgentFactory(identity="victim")
    agent = AgentFactory(identity="mallory")

    response = client.get(URL, {"identity": "victim"}, headers=api_token_header(agent.user))

    _, claims = decode(response.json()["token"])
    assert response.json()["identity"] == "mallory"
    assert claims["grants"]["identity"] == "mallory"


def test_browser_session_gets_a_token(client):
    agent = AgentFactory(identity="carol")
    client.force_login(agent.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json()["identity"] == "carol"


def test_token_responses_are_never_cached(client):
    agent = AgentFactory()

    response = client.get(URL, headers=api_token_header(agent.user))

    assert "no-store" in response["Cache-Control"]


def test_a_devices_plain_request_is_answered_as_the_api_view_answers_one_with_parameters(
    client,
):
    """A device's GET without parameters takes a short way; its answer must not differ."""
    agent = AgentFactory()
    headers = api_token_header(agent.user)

    plain = client.get(URL, headers=headers)
    with_ttl = client.get(URL, {"ttl": 3600}, headers=headers)

    assert (plain.status_code, with_ttl.status_code) == (200, 200)
    assert dict(plain.headers) == dict(with_ttl.headers)
    assert plain.json().keys() == with_ttl.json().keys()
    assert plain.json()["ttl"] == with_ttl.json()["ttl"]


def test_anonymous_request_is_refused_with_401(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_unknown_api_token_is_refused_with_401(client):
    response = client.get(URL, headers={"Authorization": "Token " + "0" * 40})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token."}


def test_inactive_agent_is_refused_with_403(client):
    agent = AgentFactory(identity="dormant", is_active=False)

    response = client.get(URL, headers=api_token_header(agent.user))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "The agent 'dormant' is inactive, so it cannot get a voice token."
    }


def test_user_without_an_agent_is_refused_with_403(client):
    user = UserFactory()

    response = client.get(URL, headers=api_token_header(user))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This user is not an agent, so it cannot get a voice token; "
        "a supervisor can make it one in the admin."
    }


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"]
)
def test_missing_twilio_credentials_answer_503_naming_them(client, settings, missing):
    setattr(settings, missing, "")
    agent = AgentFactory()

    response = client.get(URL, headers=api_token_header(agent.user))

    assert response.status_code == 503
    assert response.json() == {
        "detail": f"Voice tokens are not available: the server lacks {missing}."
    }


def test_token_request_costs_one_query_with_an_api_token(client, django_assert_num_queries):
    agent = AgentFactory()
    headers = api_token_header(agent.user)

    with django_assert_num_queries(1):
        response = client.get(URL, headers=headers)

    assert response.json()["identity"] == agent.identity


def test_user_without_an_agent_is_told_so_with_an_api_token(client, django_assert_num_queries):
    headers = api_token_header(UserFactory())

    with django_assert_num_queries(1):
        response = client.get(URL, headers=headers)

    assert response.status_code == 403


ORM_TOKEN_OWNER_FIELDS = (
    "password_digest", "expires_at", "user__password", "user__username", "user__is_active",
    "user__is_staff", "user__is_superuser", "user__agent__identity",
    "user__agent__incoming_allowed", "user__agent__is_active", "user__agent__twiml_app__sid",
    "user__agent__twiml_app__apn_credential_sid", "user__agent__twiml_app__fcm_credential_sid",
)  # fmt: skip


def loaded_values(token: ApiToken) -> dict:
    """What the token endpoint reads of a token's owner, as plain values."""
    user = token.user
    agent = getattr(user, "agent", None)
    values = {
        "token": (token.pk, token.password_digest, token.expires_at),
        "user": (user.pk, user.password, user.username, user.is_active, user.is_staff),
        "agent": None,
    }
    if agent is not None:
        app = agent.twiml_app
        values["agent"] = (agent.pk, agent.identity, agent.incoming_allowed, agent.is_active)
        values["app"] = (app.pk, app.sid, app.apn_credential_sid, app.fcm_credential_sid)
    return values


@pytest.mark.parametrize("with_agent", [True, False], ids=["agent", "no agent"])
def test_the_token_owners_one_query_loads_what_the_orm_loads(with_agent):
    user = AgentFactory().user if with_agent else UserFactory()
    key = api_token_create(user=user, name="phone").key
    key_hash = api_token_key_hash(key)

    token, _ = token_owner_read(key_hash=key_hash)
    by_the_orm = (
        ApiToken.objects.select_related("user__agent__twiml_app")
        .only(*ORM_TOKEN_OWNER_FIELDS)
        .get(key_hash=key_hash)
    )

    assert loaded_values(token) == loaded_values(by_the_orm)


def test_the_token_owners_one_query_finds_no_expired_token():
    token = api_token_create(user=AgentFactory().user, name="phone")
    ApiToken.objects.filter(pk=token.token.pk).update(expires_at=timezone.now())

    assert token_owner_read(key_hash=api_token_key_hash(token.key)) is None
