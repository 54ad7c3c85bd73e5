"""The Calls, Call events, Reconcile runs and Recordings pages of the admin, as a supervisor
uses them."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from calls.models import CallEvent
from tests.factories import AgentFactory, CallFactory, RecordingFactory, UserFactory
from tests.migrations import migrate
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))
    return client


def test_the_calls_list_shows_what_a_supervisor_needs_with_a_link_to_the_family(
    supervisor_client,
):
    agent = AgentFactory(identity="alice")
    parent = CallFactory(from_number="+14155550199", to_number="+14155550100", duration=61)
    CallFactory(parent=parent, direction="outbound-dial", to_number="client:alice", agent=agent)

    response = supervisor_client.get(reverse("admin:calls_call_changelist"))

    headers = [str(header["text"]) for header in response.context["result_headers"][1:]]
    assert headers == ["start", "kind", "from", "to", "agent", "status", "duration", "call log"]
    text = response.content.decode()
    assert f'href="/calls/{parent.sid}/"' in text
    assert "Inbound" in text
    assert "1:01" in text


def test_call_events_are_viewable_but_read_only_for_supervisors(supervisor_client):
    call = CallFactory()
    event = CallEvent.objects.create(
        call=call, status="ringing", parameters={"CallSid": call.sid}, delivery_digest="d" * 64
    )

    listing = supervisor_client.get(reverse("admin:calls_callevent_changelist"))
    detail = supervisor_client.get(reverse("admin:calls_callevent_change", args=[event.pk]))
    change = supervisor_client.post(reverse("admin:calls_callevent_change", args=[event.pk]), {})

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert call.sid in detail.content.decode()
    assert change.status_code == 403


def test_reconcile_runs_are_viewable_by_supervisors(supervisor_client):
    assert supervisor_client.get(reverse("admin:calls_reconcilerun_changelist")).status_code == 200


def test_supervisors_see_recordings_and_why_a_deletion_failed(supervisor_client):
    recording = RecordingFactory(deletion_attempts=2, deletion_error="Twilio answered 500")

    listing = supervisor_client.get(reverse("admin:calls_recording_changelist"))
    detail = supervisor_client.get(reverse("admin:calls_recording_change", args=[recording.pk]))

    assert listing.status_code == 200
    assert "Twilio answered 500" in listing.content.decode()
    assert detail.status_code == 200


def test_the_roles_migration_grants_supervisors_the_recordings(back_to_the_latest_schema):
    migrate([("agents", "0009_user_profile")])
    Group.objects.filter(name=SUPERVISORS).delete()

    migrate([("agents", "0010_supervisors_see_recordings")])

    granted = Group.objects.get(name=SUPERVISORS).permissions.filter(
        content_type__app_label="calls", codename="view_recording"
    )
    assert granted.exists()


def test_the_admin_carries_the_projects_name(supervisor_client):
    response = supervisor_client.get(reverse("admin:index"))

    assert "Voice server administration" in response.content.decode()


def searched(client, term: str) -> list[str]:
    response = client.get(reverse("admin:calls_call_changelist"), {"q": term})
    assert response.status_code == 200
    return sorted(call.sid for call in response.context["cl"].result_list)


def test_searching_a_call_sid_finds_its_leg_and_its_children(supervisor_client):
    parent = CallFactory()
    children = [CallFactory(parent=parent), CallFactory(parent=parent)]
    CallFactory()

    assert searched(supervisor_client, parent.sid) == sorted(
        [parent.sid, *(c.sid for c in children)]
    )
    assert searched(supervisor_client, f" {children[0].sid.upper()} ") == [children[0].sid]


def test_searching_a_number_as_people_type_it_finds_the_legs_from_or_to_it(
    supervisor_client, settings
):
    settings.DEFAULT_PHONE_REGION = "US"
    caller = CallFactory(from_number="+14155550199", to_number="+14155550100")
    called = CallFactory(from_number="+14155550100", to_number="+14155550199")
    CallFactory(from_number="+14155550123", to_number="+14155550100")

    for typed in ["+14155550199", "(415) 555-0199", "+1 415 555 0199"]:
        assert searched(supervisor_client, typed) == sorted([caller.sid, called.sid])


def test_searching_an_agents_identity_finds_her_legs(supervisor_client):
    alice = AgentFactory(identity="alice")
    leg = CallFactory(to_number="client:alice", agent=alice)
    CallFactory(to_number="client:alicia", agent=AgentFactory(identity="alicia"))

    assert searched(supervisor_client, "alice") == [leg.sid]
    assert searched(supervisor_client, "client:alice") == [leg.sid]


def test_searching_a_client_that_is_no_agent_finds_the_legs_from_or_to_it(supervisor_client):
    leg = CallFactory(from_number="client:former_agent")
    CallFactory(to_number="client:alicia")

    assert searched(supervisor_client, "former_agent") == [leg.sid]


def test_a_search_that_is_no_sid_number_or_identity_finds_nothing_and_says_why(
    supervisor_client,
):
    CallFactory(from_number="+14155550199")

    response = supervisor_client.get(reverse("admin:calls_call_changelist"), {"q": "555 01?"})

    assert list(response.context["cl"].result_list) == []
    assert "Search for a call SID, a phone number" in response.content.decode()
