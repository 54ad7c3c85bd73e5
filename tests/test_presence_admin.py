"""Supervisors see and change agents' availability in the admin; analysts see its history."""

import pytest

from agents.constants import Availability, PresenceSource
from agents.models import PresenceChange
from tests.factories import AgentFactory, UserFactory
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db


def staff_client(client, group: str):
    user = UserFactory(username=group.lower(), is_staff=True, groups=[group])
    client.force_login(user)
    return client, user


def test_a_supervisor_makes_agents_available_and_each_change_is_recorded(client):
    supervisor_client, supervisor = staff_client(client, SUPERVISORS)
    alice = AgentFactory(identity="alice")
    bob = AgentFactory(identity="bob", availability=Availability.AVAILABLE)

    response = supervisor_client.post(
        "/admin/agents/agent/",
        {"action": "make_available", "_selected_action": [alice.pk, bob.pk]},
    )

    assert response.status_code == 302
    change = PresenceChange.objects.get()
    assert (change.agent, change.to_availability, change.source, change.changed_by) == (
        alice,
        Availability.AVAILABLE,
        PresenceSource.ADMIN,
        supervisor,
    )
    alice.refresh_from_db()
    assert (alice.availability, alice.heartbeat_at) == (Availability.AVAILABLE, None)


def test_the_agent_list_shows_current_availability(client):
    supervisor_client, _ = staff_client(client, SUPERVISORS)
    AgentFactory(identity="alice", availability=Availability.AWAY)
    page = supervisor_client.get("/admin/agents/agent/")
    assert b"Away" in page.content


def test_analysts_read_the_availability_history_but_cannot_change_it(client):
    analyst_client, _ = staff_client(client, ANALYSTS)
    agent = AgentFactory(identity="alice")
    PresenceChange.objects.create(
        agent=agent,
        from_availability="offline",
        to_availability="available",
        changed_at=agent.availability_since,
        source=PresenceSource.SOFTPHONE,
    )
    assert analyst_client.get("/admin/agents/presencechange/").status_code == 200
    change_url = f"/admin/agents/presencechange/{PresenceChange.objects.get().pk}/delete/"
    assert analyst_client.post(change_url, {"post": "yes"}).status_code == 403
