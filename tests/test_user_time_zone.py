"""Each user's own time zone: she chooses it, supervisors set it for agents, and the call log
shows, exports, filters and counts in it."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import UserProfile
from agents.services import user_time_zone_set
from calls.models import Recording
from tests.call_log_data import call_family
from tests.factories import (
    AgentFactory,
    RecordingFactory,
    TwimlAppFactory,
    UserFactory,
    api_token_header,
)
from tests.test_agents_admin import agent_change_form, new_agent_form
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

# 23:30 in UTC is 08:30 the next morning in Tokyo.
LATE_IN_UTC = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
NEXT_DAY_IN_TOKYO = date(2026, 11, 3)


@pytest.fixture(autouse=True)
def server_in_utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def tokyo_analyst():
    analyst = UserFactory(groups=[ANALYSTS])
    user_time_zone_set(user=analyst, time_zone="Asia/Tokyo")
    return analyst


@pytest.fixture
def tokyo_client(client, tokyo_analyst):
    client.force_login(tokyo_analyst)
    return client


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))
    return client


@pytest.fixture
def late_call():
    return call_family(start=LATE_IN_UTC, kind="inbound")


def listed_sids(response) -> list[str]:
    return [family.parent.sid for family in response.context["page"].families]


def profile_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries if UserProfile._meta.db_table in q["sql"]]


def profile_of(user) -> str | None:
    return UserProfile.objects.filter(user=user).values_list("time_zone", flat=True).first()


@pytest.mark.usefixtures("late_call")
def test_she_sees_a_call_late_in_utc_on_her_next_morning_in_the_list(tokyo_client):
    body = tokyo_client.get("/calls/").content.decode()

    assert "2026-11-03 08:30:00 JST" in body
    assert "Times in Asia/Tokyo." in body


@pytest.mark.usefixtures("late_call")
def test_her_csv_export_writes_her_offset(tokyo_client):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes the CSV's times in UTC (+00:00)")

    response = tokyo_client.get("/calls/export.csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["start_time"] == "2026-11-03T08:30:00+09:00"


def test_her_voicemail_and_recordings_carry_her_zone(tokyo_client, late_call):
    voicemail = RecordingFactory(call=late_call, kind="voicemail", started_at=LATE_IN_UTC)
    Recording.objects.filter(pk=voicemail.pk).update(created_at=LATE_IN_UTC)

    inbox = tokyo_client.get("/recordings/voicemail/").content.decode()
    family = tokyo_client.get(f"/calls/{late_call.sid}/").content.decode()

    assert "2026-11-03 08:30 JST" in inbox
    assert 'channels · <time datetime="2026-11-03T08:30:00+09:00">08:30:00 JST</time>' in family


@pytest.mark.parametrize(
    ("day", "listed"),
    [("2026-11-03", True), ("2026-11-02", False)],
)
def test_her_date_filters_mean_days_in_her_zone(tokyo_client, late_call, day, listed):
    response = tokyo_client.get("/calls/", {"started_after": day, "started_before": day})

    assert listed_sids(response) == ([late_call.sid] if listed else [])


@pytest.mark.usefixtures("late_call")
def test_her_statistics_count_the_call_on_her_day_and_hour(tokyo_client):
    period = {"started_after": "2026-11-01", "started_before": "2026-11-30"}

    stats = tokyo_client.get("/calls/stats/", period).context["stats"]

    assert {day: calls for day, calls in stats.per_day.items() if calls} == {
        NEXT_DAY_IN_TOKYO: {"inbound": 1}
    }
    assert {hour: calls for hour, calls in stats.per_hour.items() if calls} == {8: {"inbound": 1}}


@pytest.mark.usefixtures("late_call")
def test_a_device_token_gets_the_api_in_its_users_zone(client, tokyo_analyst):
    headers = api_token_header(tokyo_analyst)

    families = client.get("/api/calls/", headers=headers).json()["results"]
    stats = client.get(
        "/api/calls/stats/", {"started_after": "2026-11-03", "started_before": "2026-11-03"},
        headers=headers,
    ).json()  # fmt: skip

    assert families[0]["start_time"] == "2026-11-03T08:30:00+09:00"
    assert stats["time_zone"] == "Asia/Tokyo"
    assert stats["per_day"] == [{"period": "2026-11-03", "calls": {"inbound": 1}}]


@pytest.mark.usefixtures("late_call")
def test_a_zone_the_server_no_longer_knows_falls_back_to_the_servers(tokyo_client, tokyo_analyst):
    UserProfile.objects.filter(user=tokyo_analyst).update(time_zone="Asia/Nowhere")

    body = tokyo_client.get("/calls/").content.decode()

    assert "2026-11-02 23:30:00 UTC" in body


@pytest.mark.parametrize("path", ["/calls/", "/calls/stats/", "/api/calls/", "/api/calls/stats/"])
def test_a_request_looks_her_zone_up_once(tokyo_client, path):
    with CaptureQueriesContext(connection) as queries:
        assert tokyo_client.get(path).status_code == 200

    assert len(profile_queries(queries)) == 1


def test_her_zone_ends_with_her_request(tokyo_client):
    tokyo_client.get("/calls/")

    assert timezone.get_current_timezone_name() == "UTC"


def test_the_token_endpoint_never_looks_a_zone_up(client, settings):
    agent = AgentFactory()
    user_time_zone_set(user=agent.user, time_zone="Asia/Tokyo")
    # The middleware the hot path runs in production (voiceproject/handlers.py).
    settings.MIDDLEWARE = settings.HOT_PATH_MIDDLEWARE["api-access-token"]
    client.force_login(agent.user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/token/")

    assert response.status_code == 200
    assert profile_queries(queries) == []


def test_the_time_zone_page_needs_a_login(client):
    response = client.get("/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/profile/"


def test_she_chooses_her_time_zone_and_her_pages_follow(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post("/profile/", {"time_zone": "Asia/Tokyo"}, follow=True)

    assert profile_of(user) == "Asia/Tokyo"
    body = response.content.decode()
    assert "Times are now shown in Asia/Tokyo." in body
    assert " JST" in body  # the page's own clock


def test_an_unknown_time_zone_is_refused_with_the_reason(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post("/profile/", {"time_zone": "Mars/Olympus"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert profile_of(user) is None


def test_choosing_the_servers_zone_again_clears_hers(tokyo_client, tokyo_analyst):
    response = tokyo_client.post("/profile/", {"time_zone": ""}, follow=True)

    assert profile_of(tokyo_analyst) == ""
    assert "Times are now shown in the server&#x27;s time zone (UTC)." in response.content.decode()


def test_the_time_zone_form_needs_its_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/profile/", {"time_zone": "Asia/Tokyo"})

    assert response.status_code == 403
    assert profile_of(user) is None


def test_the_time_zone_page_has_no_inline_script_or_style(client):
    client.force_login(UserFactory())

    response = client.get("/profile/")

    assert "script-src 'self'" in response["Content-Security-Policy"]
    body = response.content.decode()
    assert "<script" not in body
    assert "<style" not in body
    assert " style=" not in body


def test_the_top_bar_links_to_the_time_zone_page_beside_the_password(client):
    client.force_login(UserFactory())

    body = client.get("/").content.decode()

    assert '<a href="/profile/">Time zone</a>\n      <a href="/password_change/">' in body


def test_a_supervisor_sets_an_agents_time_zone_on_its_page(supervisor_client):
    agent = AgentFactory()

    response = supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/change/",
        agent_change_form(agent, time_zone="Europe/Paris"),
    )

    assert response.status_code == 302
    assert profile_of(agent.user) == "Europe/Paris"
    page = supervisor_client.get(f"/admin/agents/agent/{agent.pk}/change/").content.decode()
    assert '<option value="Europe/Paris" selected>' in page


def test_a_supervisor_gives_a_new_agent_its_time_zone(supervisor_client):
    response = supervisor_client.post(
        "/admin/agents/agent/add/",
        new_agent_form(TwimlAppFactory(), caller_id="", time_zone="America/Chicago"),
    )

    assert response.status_code == 302
    assert UserProfile.objects.get(user__username="ivan").time_zone == "America/Chicago"


def test_a_superuser_sets_any_users_time_zone_on_the_users_page(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    analyst = UserFactory(groups=[ANALYSTS])

    response = client.post(
        f"/admin/auth/user/{analyst.pk}/change/",
        {
            "username": analyst.username,
            "date_joined_0": "2026-11-01",
            "date_joined_1": "09:00:00",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-0-time_zone": "Asia/Kolkata",
        },
    )

    assert response.status_code == 302
    assert profile_of(analyst) == "Asia/Kolkata"


def test_a_zone_is_refused_by_the_service_too():
    with pytest.raises(ValidationError):
        user_time_zone_set(user=UserFactory(), time_zone="Mars/Olympus")
