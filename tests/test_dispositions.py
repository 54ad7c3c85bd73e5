"""A family's disposition and note: read by whoever sees the family, written by the agent who
handled it or a supervisor, shown on its page, filtered and exported by the call log."""

import csv
import io
from importlib import import_module

import pytest
from django.apps import apps

from calls.constants import NOTE_MAX_LENGTH
from calls.models import Disposition, FamilyDisposition
from tests.call_log_data import call_family
from tests.factories import AgentFactory, UserFactory, api_token_header
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

CUSTOMER = "+12125550123"


@pytest.fixture(autouse=True)
def dispositions():
    """The list as the data migration seeds it (a transactional test's flush empties it)."""
    for name, order in [
        ("resolved", 10),
        ("call back", 20),
        ("escalated", 30),
        ("wrong number", 40),
    ]:
        Disposition.objects.get_or_create(name=name, defaults={"order": order})


@pytest.fixture
def alice():
    return AgentFactory(identity="alice")


@pytest.fixture
def bob():
    return AgentFactory(identity="bob")


@pytest.fixture
def answered_by_alice(alice, bob):
    """A customer's call that rang alice and bob; alice answered."""
    return call_family(
        kind="inbound",
        from_number=CUSTOMER,
        answered_by=alice,
        children=[
            {"agent": alice, "to_number": "client:alice", "status": "completed"},
            {"agent": bob, "to_number": "client:bob", "status": "canceled"},
        ],
    )


def alices_leg(family):
    return family.children.get(agent__identity="alice")


def put(client, sid, body, **headers):
    return client.put(
        f"/api/calls/{sid}/disposition/", body, content_type="application/json", headers=headers
    )


def test_the_agent_who_answered_writes_the_disposition_and_note_from_her_own_leg(
    client, alice, answered_by_alice
):
    response = put(
        client,
        alices_leg(answered_by_alice).sid,
        {"disposition": "call back", "note": "Wants a quote by Friday."},
        **api_token_header(alice.user),
    )

    assert response.status_code == 200
    assert response.json() | {"written_at": None} == {
        "call_sid": answered_by_alice.sid,
        "disposition": "call back",
        "note": "Wants a quote by Friday.",
        "written_by": alice.user.username,
        "written_at": None,
        "editable": True,
    }
    record = FamilyDisposition.objects.get(call=answered_by_alice)
    assert (record.disposition.name, record.note) == ("call back", "Wants a quote by Friday.")


def test_another_agent_rung_for_the_call_may_read_but_not_write(client, bob, answered_by_alice):
    headers = api_token_header(bob.user)

    read = client.get(f"/api/calls/{answered_by_alice.sid}/disposition/", headers=headers)
    write = put(client, answered_by_alice.sid, {"disposition": "resolved"}, **headers)

    assert (read.status_code, read.json()["editable"]) == (200, False)
    assert write.status_code == 403
    assert not FamilyDisposition.objects.exists()


def test_an_agent_who_cannot_see_the_family_is_told_it_does_not_exist(client, answered_by_alice):
    carol = AgentFactory(identity="carol")

    response = put(
        client, answered_by_alice.sid, {"disposition": "resolved"}, **api_token_header(carol.user)
    )

    assert response.status_code == 404


def test_a_supervisor_writes_any_familys_disposition(client, answered_by_alice):
    client.force_login(UserFactory(groups=[SUPERVISORS]))

    response = put(client, answered_by_alice.sid, {"disposition": "resolved", "note": "ok"})

    assert response.status_code == 200
    assert FamilyDisposition.objects.get().disposition.name == "resolved"


def test_an_analyst_reads_but_may_not_write(client, alice, answered_by_alice):
    FamilyDisposition.objects.create(
        call=answered_by_alice, disposition=Disposition.objects.get(name="resolved")
    )
    client.force_login(UserFactory(groups=[ANALYSTS]))

    read = client.get(f"/api/calls/{answered_by_alice.sid}/disposition/")
    write = put(client, answered_by_alice.sid, {"disposition": "call back"})

    assert (read.status_code, read.json()["disposition"]) == (200, "resolved")
    assert write.status_code == 403


def test_the_agent_who_placed_an_outbound_call_handled_it(client, alice):
    family = call_family(
        kind="outbound", agent=alice, from_number="client:alice", children=[{"to_number": CUSTOMER}]
    )

    response = put(client, family.sid, {"note": "Left a message"}, **api_token_header(alice.user))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"disposition": "no such thing"},
        {"disposition": 7},
        {"note": "x" * (NOTE_MAX_LENGTH + 1)},
        {"note": ["a list"]},
    ],
)
def test_a_disposition_or_note_not_understood_is_refused(client, alice, answered_by_alice, body):
    response = put(client, answered_by_alice.sid, body, **api_token_header(alice.user))

    assert response.status_code == 400
    assert not FamilyDisposition.objects.exists()


def test_a_retired_disposition_cannot_be_picked(client, alice, answered_by_alice):
    Disposition.objects.filter(name="escalated").update(active=False)

    response = put(
        client, answered_by_alice.sid, {"disposition": "escalated"}, **api_token_header(alice.user)
    )

    assert response.status_code == 400


def test_malformed_json_is_refused(client, alice, answered_by_alice):
    response = client.put(
        f"/api/calls/{answered_by_alice.sid}/disposition/",
        "{not json",
        content_type="application/json",
        headers=api_token_header(alice.user),
    )

    assert response.status_code == 400


def test_an_empty_disposition_and_note_clear_them(client, alice, answered_by_alice):
    headers = api_token_header(alice.user)
    put(client, answered_by_alice.sid, {"disposition": "resolved"}, **headers)

    response = put(client, answered_by_alice.sid, {"disposition": None, "note": "  "}, **headers)

    assert response.json()["disposition"] is None
    assert not FamilyDisposition.objects.exists()


def test_agents_are_offered_the_active_dispositions_in_the_supervisors_order(client, alice):
    Disposition.objects.filter(name="escalated").update(active=False)
    Disposition.objects.create(name="sale", order=1)

    response = client.get("/api/dispositions/", headers=api_token_header(alice.user))

    assert [choice["name"] for choice in response.json()] == [
        "sale",
        "resolved",
        "call back",
        "wrong number",
    ]


def test_the_list_starts_with_a_few_sensible_dispositions():
    Disposition.objects.all().delete()

    import_module("calls.migrations.0022_dispositions").seed_dispositions(apps, None)

    assert list(Disposition.objects.values_list("name", flat=True)) == [
        "resolved",
        "call back",
        "escalated",
        "wrong number",
    ]


def test_supervisors_keep_the_list_of_dispositions():
    supervisor = UserFactory(groups=[SUPERVISORS])

    assert all(
        supervisor.has_perm(f"calls.{action}_disposition")
        for action in ("add", "change", "delete", "view")
    )


def test_the_family_page_shows_the_note_escaped(client, alice, answered_by_alice):
    FamilyDisposition.objects.create(
        call=answered_by_alice,
        disposition=Disposition.objects.get(name="wrong number"),
        note="<script>alert(1)</script>",
    )
    client.force_login(UserFactory(groups=[ANALYSTS]))

    page = client.get(f"/calls/{answered_by_alice.sid}/").content.decode()

    assert "wrong number" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert 'action="/calls/' not in page  # an analyst gets no form


def test_the_handling_agent_edits_them_on_the_family_page(client, alice, answered_by_alice):
    client.force_login(alice.user)

    page = client.get(f"/calls/{answered_by_alice.sid}/").content.decode()
    response = client.post(
        f"/calls/{answered_by_alice.sid}/disposition/",
        {"disposition": "resolved", "note": "Fixed on the call."},
    )

    assert f'action="/calls/{answered_by_alice.sid}/disposition/"' in page
    assert response.status_code == 302
    assert FamilyDisposition.objects.get().note == "Fixed on the call."


def test_the_family_page_form_refuses_another_agent(client, bob, answered_by_alice):
    client.force_login(bob.user)

    response = client.post(
        f"/calls/{answered_by_alice.sid}/disposition/", {"disposition": "resolved"}
    )

    assert response.status_code == 403


def test_the_call_log_filters_by_disposition_and_lists_it_with_the_note(client, answered_by_alice):
    FamilyDisposition.objects.create(
        call=answered_by_alice, disposition=Disposition.objects.get(name="call back"), note="Soon"
    )
    call_family(kind="inbound", from_number=CUSTOMER)
    client.force_login(UserFactory(groups=[ANALYSTS]))

    response = client.get("/api/calls/", {"disposition": "call back"})

    [family] = response.json()["results"]
    assert (family["sid"], family["disposition"], family["note"]) == (
        answered_by_alice.sid,
        "call back",
        "Soon",
    )


def test_the_call_log_refuses_an_unknown_disposition(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))

    response = client.get("/api/calls/", {"disposition": "nonsense"})

    assert response.status_code == 400


def test_the_csv_has_the_disposition_and_a_harmless_note_on_every_leg(client, answered_by_alice):
    FamilyDisposition.objects.create(
        call=answered_by_alice,
        disposition=Disposition.objects.get(name="resolved"),
        note='=HYPERLINK("http://evil.example")',
    )
    client.force_login(UserFactory(groups=[ANALYSTS]))

    response = client.get("/calls/export.csv", {"disposition": "resolved"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 3
    assert {(row["disposition"], row["note"]) for row in rows} == {
        ("resolved", '\'=HYPERLINK("http://evil.example")')
    }
