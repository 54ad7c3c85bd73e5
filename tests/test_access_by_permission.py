"""Every access rule is a permission: a group of any name given a role's permissions may see
and do on the pages and API exactly what the role's own group may."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from tests.factories import AgentFactory, CallFactory, RecordingFactory, UserFactory
from voiceproject.roles import ANALYSTS, SUPERVISORS, roles_create

pytestmark = pytest.mark.django_db

ROLES = [SUPERVISORS, ANALYSTS]


def member_of_a_group_like(role: str):
    """A user in a group named otherwise, holding exactly the role's permissions."""
    roles_create(group_model=Group, permission_model=Permission)
    look_alike = Group.objects.create(name=f"Team leads like {role}")
    look_alike.permissions.set(Group.objects.get(name=role).permissions.all())
    user = UserFactory()
    user.groups.add(look_alike)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def calls_of_two_agents():
    """alice's and bob's answered calls, each recorded, and a voicemail left for bob."""
    started = timezone.now() - timedelta(hours=1)
    calls = [
        CallFactory(agent=AgentFactory(identity=identity), start_time=started)
        for identity in ("alice", "bob")
    ]
    recordings = [RecordingFactory(call=call) for call in calls]
    voicemail = RecordingFactory(
        call=CallFactory(start_time=started), kind="voicemail", voicemail_agent=calls[1].agent
    )
    return calls, recordings, voicemail


API_PATHS = ["/api/calls/", "/api/calls/stats/", "/api/calls/live/", "/api/agents/"]
PAGE_PATHS = ["/calls/", "/calls/stats/", "/calls/live/", "/recordings/voicemail/"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", API_PATHS)
def test_a_look_alike_group_gets_the_role_s_answer_from_the_api(calls_of_two_agents, role, path):
    by_role = logged_in(UserFactory(groups=[role])).get(path)
    by_look_alike = logged_in(member_of_a_group_like(role)).get(path)
    assert by_look_alike.status_code == by_role.status_code
    assert by_look_alike.content == by_role.content


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", PAGE_PATHS)
def test_a_look_alike_group_may_open_the_role_s_pages(calls_of_two_agents, role, path):
    assert logged_in(member_of_a_group_like(role)).get(path).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_a_look_alike_group_sees_every_agent_s_calls(calls_of_two_agents, role):
    calls, _, _ = calls_of_two_agents
    page = logged_in(member_of_a_group_like(role)).get("/calls/").content.decode()
    assert all(call.sid in page for call in calls)


def test_a_look_alike_of_supervisors_sees_the_agents_directory(calls_of_two_agents):
    answer = logged_in(member_of_a_group_like(SUPERVISORS)).get("/api/agents/")
    assert [agent["identity"] for agent in answer.json()] == ["alice", "bob"]


def test_a_look_alike_of_analysts_is_refused_the_agents_directory_as_analysts_are():
    assert logged_in(member_of_a_group_like(ANALYSTS)).get("/api/agents/").status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_a_look_alike_group_hears_any_agent_s_recording(calls_of_two_agents, fake_twilio, role):
    _, recordings, _ = calls_of_two_agents
    for recording in recordings:
        fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=b"ID3 audio")
    client = logged_in(member_of_a_group_like(role))
    assert [client.get(f"/recordings/{r.sid}.mp3").status_code for r in recordings] == [200, 200]


def test_a_look_alike_of_supervisors_deletes_anyone_s_voicemail(calls_of_two_agents, fake_twilio):
    _, _, voicemail = calls_of_two_agents
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    client = logged_in(member_of_a_group_like(SUPERVISORS))
    client.post(f"/recordings/voicemail/{voicemail.sid}/delete/")
    assert fake_twilio.deleted_recordings == [voicemail.sid]


def test_a_look_alike_of_analysts_may_not_delete_someone_s_voicemail(
    calls_of_two_agents, fake_twilio
):
    _, _, voicemail = calls_of_two_agents
    client = logged_in(member_of_a_group_like(ANALYSTS))
    assert client.post(f"/recordings/voicemail/{voicemail.sid}/delete/").status_code == 403
    assert fake_twilio.deleted_recordings == []
