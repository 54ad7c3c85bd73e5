from datetime import timedelta

import pytest
from django.core.management import call_command

from calls.log.paging import PAGE_SIZE
from tests.call_log_data import START, call_family, callback
from tests.factories import AgentFactory, GroupFactory, UserFactory, api_token_header
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    return client


def test_list_returns_families_with_parent_sid_and_children(analyst_client):
    family = call_family(children=[{"to_number": "client:alice", "status": "completed"}])
    child = family.children.get()

    response = analyst_client.get("/api/calls/")

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["sid"] == family.sid
    assert item["parent_sid"] is None
    assert [(c["sid"], c["parent_sid"], c["to_number"]) for c in item["children"]] == [
        (child.sid, family.sid, "client:alice")
    ]


def test_list_pages_with_cursor_links(analyst_client):
    for minutes in range(PAGE_SIZE + 5):
        call_family(start=START + timedelta(minutes=minutes))

    first = analyst_client.get("/api/calls/").json()
    second = analyst_client.get(first["next"]).json()
    back = analyst_client.get(second["previous"]).json()

    assert len(first["results"]) == PAGE_SIZE
    assert len(second["results"]) == 5
    assert first["previous"] is None
    assert second["next"] is None
    assert back["results"] == first["results"]
    sids = [item["sid"] for item in first["results"] + second["results"]]
    assert len(set(sids)) == PAGE_SIZE + 5


def test_list_applies_the_same_filters_as_the_pages(analyst_client):
    alice = AgentFactory(identity="alice")
    hers = call_family(children=[{"agent": alice, "status": "no-answer"}])
    call_family(start=START + timedelta(hours=1), children=[{"status": "no-answer"}])

    response = analyst_client.get("/api/calls/", {"agent": "alice", "status": "no-answer"})

    assert [item["sid"] for item in response.json()["results"]] == [hers.sid]


def test_invalid_filter_value_is_a_bad_request(analyst_client):
    response = analyst_client.get("/api/calls/", {"status": "ringing-forever"})

    assert response.status_code == 400
    assert "status" in response.json()


def test_list_sorts_families_as_the_sort_filter_says(analyst_client):
    long = call_family(duration=600)
    short = call_family(start=START + timedelta(hours=1), duration=10)
    unknown = call_family(start=START + timedelta(hours=2), duration=None)

    response = analyst_client.get("/api/calls/", {"sort": "duration"})

    assert [item["sid"] for item in response.json()["results"]] == [
        short.sid,
        long.sid,
        unknown.sid,
    ]


def test_list_keeps_the_sort_across_its_cursor_links(analyst_client):
    for seconds in range(PAGE_SIZE + 2):
        call_family(start=START - timedelta(minutes=seconds), duration=seconds)

    first = analyst_client.get("/api/calls/", {"sort": "-duration"}).json()
    second = analyst_client.get(first["next"]).json()

    durations = [item["duration"] for item in first["results"] + second["results"]]
    assert durations == sorted(range(PAGE_SIZE + 2), reverse=True)


def test_unknown_sort_is_a_bad_request(analyst_client):
    response = analyst_client.get("/api/calls/", {"sort": "price"})

    assert response.status_code == 400
    assert "sort" in response.json()


def test_family_from_a_child_sid_with_events(analyst_client):
    family = call_family(children=[{}])
    child = family.children.get()
    callback(child, "completed", 3, ParentCallSid=family.sid)

    response = analyst_client.get(f"/api/calls/{child.sid}/")

    assert response.status_code == 200
    body = response.json()
    assert body["parent"]["sid"] == family.sid
    assert [leg["sid"] for leg in body["children"]] == [child.sid]
    [event] = body["events"]
    assert event["call_sid"] == child.sid
    assert event["parameters"]["ParentCallSid"] == family.sid


def test_unknown_sid_is_not_found(analyst_client):
    assert analyst_client.get("/api/calls/CA" + "1" * 32 + "/").status_code == 404


def test_anonymous_requests_are_unauthorized(client):
    response = client.get("/api/calls/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_users_without_a_role_are_forbidden(client):
    family = call_family()
    client.force_login(UserFactory())

    assert client.get("/api/calls/").status_code == 403
    assert client.get(f"/api/calls/{family.sid}/").status_code == 403


def test_supervisors_may_use_a_token(client):
    family = call_family()
    headers = api_token_header(UserFactory(groups=[SUPERVISORS]))

    response = client.get("/api/calls/", headers=headers)

    assert [item["sid"] for item in response.json()["results"]] == [family.sid]


def test_a_new_group_given_only_view_call_gets_every_family(client):
    alice = AgentFactory(identity="alice")
    hers = call_family(children=[{"agent": alice}])
    other = call_family(start=START + timedelta(hours=1), children=[{}])
    quality = GroupFactory(name="Quality", permissions=["calls.view_call"])
    client.force_login(UserFactory(groups=[quality.name]))

    listed = [item["sid"] for item in client.get("/api/calls/").json()["results"]]
    assert listed == [other.sid, hers.sid]
    assert client.get(f"/api/calls/{other.children.get().sid}/").status_code == 200


def test_an_agent_gets_only_the_families_of_its_own_legs(client):
    alice = AgentFactory(identity="alice")
    hers = call_family(children=[{"agent": alice}])
    other = call_family(start=START + timedelta(hours=1), children=[{}])
    client.force_login(alice.user)

    assert [item["sid"] for item in client.get("/api/calls/").json()["results"]] == [hers.sid]
    assert client.get(f"/api/calls/{other.sid}/").status_code == 404


def test_openapi_schema_validates_without_warnings(tmp_path):
    schema = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))

    text = schema.read_text()
    assert "/api/calls/{sid}/" in text
    assert "parent_sid" in text


def test_schema_and_docs_pages_are_served_without_a_cdn(client):
    client.force_login(UserFactory())
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn." not in docs
    assert "/static/drf_spectacular_sidecar/" in docs
