"""JSON bodies nested deeper than any document the API takes are refused with a 400."""

import json

import pytest
import requests

from agents.constants import Availability
from tests.factories import DEFAULT_PASSWORD, AgentFactory, api_token_header
from voiceproject.json_input import JSON_MAX_DEPTH

pytestmark = pytest.mark.django_db(transaction=True)

LEVELS = 1100
DEEP_OBJECT = '{"a":' * LEVELS + "1" + "}" * LEVELS
DEEP_ARRAY = "[" * LEVELS + "]" * LEVELS
DEPTH_MESSAGE = f"nest deeper than {JSON_MAX_DEPTH} levels"


def post_json(live_server, path: str, body: str, method: str = "POST", **headers):
    return requests.request(
        method,
        live_server.url + path,
        data=body.encode(),
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY])
def test_deep_json_to_the_login_api_is_refused_before_any_login(live_server, body):
    response = post_json(live_server, "/api/auth/token/", body)

    assert response.status_code == 400
    assert DEPTH_MESSAGE in response.json()["detail"]


def test_deep_json_to_the_token_api_is_refused(live_server):
    agent = AgentFactory()

    response = post_json(live_server, "/api/token/", DEEP_OBJECT, **api_token_header(agent.user))

    assert response.status_code == 400
    assert DEPTH_MESSAGE in response.json()["detail"]


def test_deep_json_to_the_presence_api_is_refused_and_changes_nothing(live_server):
    agent = AgentFactory(availability=Availability.AVAILABLE)

    response = post_json(
        live_server, "/api/presence/", DEEP_OBJECT, method="PUT", **api_token_header(agent.user)
    )

    assert response.status_code == 400
    assert DEPTH_MESSAGE in response.json()["detail"]
    agent.refresh_from_db()
    assert agent.availability == Availability.AVAILABLE


def test_brackets_inside_strings_do_not_count_as_nesting(live_server):
    AgentFactory(user__username="ann")
    body = json.dumps({"username": "ann", "password": DEFAULT_PASSWORD, "name": "[{" * 40})

    response = post_json(live_server, "/api/auth/token/", body)

    assert response.status_code == 200
    assert response.json()["name"] == "[{" * 40


def test_json_in_a_charset_that_is_no_text_encoding_is_refused(live_server):
    response = post_json(
        live_server,
        "/api/auth/token/",
        "{}",
        **{"Content-Type": "application/json; charset=bz2_codec"},
    )

    assert response.status_code == 400
