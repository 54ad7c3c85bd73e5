import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.access import call_families_visible_to, can_view_call_log
from calls.log.export import EXPORT_BATCH_FAMILIES
from calls.log.paging import call_family_page
from calls.models import Call
from tests.call_log_data import START, call_family, callback
from tests.factories import AgentFactory, CallFactory, GroupFactory, UserFactory, random_sid
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    return client


def listed_sids(response) -> list[str]:
    return [family.parent.sid for family in response.context["page"].families]


def test_list_shows_families_newest_first_with_children_nested(analyst_client):
    older = call_family(start=START, children=[{"status": "completed"}])
    newer = call_family(start=START + timedelta(hours=1), children=[{"status": "no-answer"}, {}])

    response = analyst_client.get("/calls/")

    assert response.status_code == 200
    assert listed_sids(response) == [newer.sid, older.sid]
    families = response.context["page"].families
    assert [len(family.children) for family in families] == [2, 1]
    assert Call.objects.count() == 5
    body = response.content.decode()
    assert body.index(newer.children.first().sid) < body.index(older.sid)


def test_parent_known_only_by_its_sid_lists_as_newest(analyst_client):
    started = call_family(start=START)
    placeholder = call_family(start=None, status="", direction="")

    response = analyst_client.get("/calls/")

    assert listed_sids(response) == [placeholder.sid, started.sid]


def expected_order(calls, sort):
    """The order the call log promises: NULLs above every value, ties broken by id."""
    field, descending = sort.removeprefix("-"), sort.startswith("-")

    def key(call):
        value = getattr(call, field)
        return (value is None, value if value is not None else 0, call.id)

    return sorted(calls, key=key, reverse=descending)


@pytest.mark.parametrize("sort", ["-start_time", "start_time", "-duration", "duration"])
def test_keyset_pages_walk_every_family_once_forwards_and_back(sort):
    durations = [30, None, 30, 5, None, 120, 30, 5]
    starts = [START, None, START, START + timedelta(minutes=1), None, START, START, START]
    calls = [
        call_family(start=start, duration=duration)
        for start, duration in zip(starts, durations, strict=True)
    ]
    families = call_families_visible_to(UserFactory(is_superuser=True))

    pages, cursor = [], None
    while True:
        page = call_family_page(families, sort=sort, cursor=cursor, size=3)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    walked = [family.parent.sid for page in pages for family in page.families]
    assert walked == [call.sid for call in expected_order(calls, sort)]
    assert pages[0].previous_cursor is None

    back = call_family_page(families, sort=sort, cursor=pages[-1].previous_cursor, size=3)
    assert [f.parent.sid for f in back.families] == [f.parent.sid for f in pages[-2].families]


def test_unknown_cursor_is_not_found(analyst_client):
    assert analyst_client.get("/calls/?cursor=bm90LWEtY3Vyc29y").status_code == 404


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"direction": "outbound-api"}, "api"),
        ({"status": "busy"}, "dialled"),
        ({"agent": "alice"}, "dialled"),
        ({"number": "client:alice"}, "dialled"),
        ({"number": "+14155550123"}, "api"),
        ({"started_after": "2026-11-03", "started_before": "2026-11-03"}, "api"),
        ({"started_before": "2026-11-02"}, "dialled"),
        ({"agent": "alice", "status": "busy"}, "dialled"),
        ({"agent": "alice", "status": "completed"}, None),
    ],
)
def test_filters_match_a_family_when_one_leg_matches_them_all(analyst_client, query, matches):
    alice = AgentFactory(identity="alice")
    bob = AgentFactory(identity="bob")
    families = {
        "dialled": call_family(
            start=START,
            from_number="+14155550199",
            children=[
                {"to_number": "client:alice", "agent": alice, "status": "busy"},
                {"to_number": "client:bob", "agent": bob, "status": "completed"},
            ],
        ),
        "api": call_family(
            start=START + timedelta(days=1), direction="outbound-api", to_number="+14155550123"
        ),
    }

    response = analyst_client.get("/calls/", query)

    assert listed_sids(response) == ([families[matches].sid] if matches else [])


def test_sid_filter_finds_the_family_of_a_child_leg(analyst_client):
    family = call_family(children=[{}, {}])
    call_family(start=START + timedelta(hours=1))
    child = family.children.last()

    response = analyst_client.get("/calls/", {"sid": child.sid})

    assert listed_sids(response) == [family.sid]


def test_list_sorts_by_duration_from_the_column_header(analyst_client):
    short = call_family(duration=10)
    long = call_family(duration=600)

    response = analyst_client.get("/calls/", {"sort": "-duration"})

    assert listed_sids(response) == [long.sid, short.sid]
    assert "sort=duration" in response.content.decode()


def test_child_sid_opens_the_whole_family_with_its_timeline(analyst_client):
    family = call_family(children=[{"to_number": "client:alice"}, {"to_number": "client:bob"}])
    child = family.children.order_by("id").last()
    callback(family, "ringing", 0, From="+14155550199")
    callback(child, "ringing", 1, ParentCallSid=family.sid)
    callback(child, "completed", 2, ParentCallSid=family.sid, CallDuration="42")

    response = analyst_client.get(f"/calls/{child.sid}/")

    assert response.status_code == 200
    found = response.context["family"]
    assert found.parent == family
    assert [leg.sid for leg in found.legs] == [
        family.sid,
        *family.children.values_list("sid", flat=True).order_by("id"),
    ]
    assert [(event.call.sid, event.status) for event in found.events] == [
        (child.sid, "completed"),
        (child.sid, "ringing"),
        (family.sid, "ringing"),
    ]
    body = response.content.decode()
    assert "CallDuration" in body
    assert "client:bob" in body


def test_unknown_sid_is_not_found(analyst_client):
    assert analyst_client.get("/calls/CA" + "0" * 32 + "/").status_code == 404


def exported_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_works_while_queries_are_logged_as_with_debug_on(analyst_client):
    call_family(duration=75)

    with CaptureQueriesContext(connection):
        rows = exported_rows(analyst_client.get("/calls/export.csv"))

    assert rows[0]["start_time"].startswith(str(START.year))


def test_csv_export_streams_one_row_per_leg_with_its_parent_sid(analyst_client):
    alice = AgentFactory(identity="alice")
    family = call_family(
        duration=75,
        children=[{"to_number": "client:alice", "agent": alice, "duration": 70}],
    )
    child = family.children.get()
    call_family(start=START - timedelta(days=1), direction="outbound-api")

    response = analyst_client.get("/calls/export.csv", {"direction": "inbound"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    rows = exported_rows(response)
    assert [(row["parent_sid"], row["sid"]) for row in rows] == [
        ("", family.sid),
        (family.sid, child.sid),
    ]
    assert rows[1]["agent"] == "alice"
    assert rows[1]["to"] == "client:alice"
    assert rows[1]["duration"] == "70"
    assert rows[0]["start_time"] == "2026-11-02T09:00:00+00:00"


def test_stats_default_to_the_last_thirty_days(analyst_client):
    response = analyst_client.get("/calls/stats/")

    assert response.status_code == 200
    assert response.context["filters"].data["started_after"]


# Who sees what


@pytest.fixture
def agent_families():
    """One family in which Alice took a leg, one without her."""
    alice = AgentFactory(identity="alice")
    hers = call_family(children=[{"agent": alice}, {"agent": AgentFactory()}])
    other = call_family(start=START + timedelta(hours=1), children=[{"agent": AgentFactory()}])
    return alice, hers, other


@pytest.mark.parametrize(
    "user_fields",
    [{"groups": [ANALYSTS]}, {"groups": [SUPERVISORS]}, {"is_superuser": True}],
)
def test_analysts_supervisors_and_superusers_see_every_family(client, agent_families, user_fields):
    _, hers, other = agent_families
    client.force_login(UserFactory(**user_fields))

    assert listed_sids(client.get("/calls/")) == [other.sid, hers.sid]
    assert client.get(f"/calls/{other.sid}/").status_code == 200


def test_a_new_group_given_only_view_call_sees_every_family(client, agent_families):
    _, hers, other = agent_families
    quality = GroupFactory(name="Quality", permissions=["calls.view_call"])
    client.force_login(UserFactory(groups=[quality.name]))

    assert listed_sids(client.get("/calls/")) == [other.sid, hers.sid]
    assert client.get(f"/calls/{other.children.get().sid}/").status_code == 200
    exported = {
        row["parent_sid"] or row["sid"] for row in exported_rows(client.get("/calls/export.csv"))
    }
    assert exported == {hers.sid, other.sid}
    assert client.get("/calls/stats/").status_code == 200
    assert 'href="/calls/"' in client.get("/").content.decode()


def test_view_call_granted_to_the_user_alone_shows_every_family(client, agent_families):
    _, hers, other = agent_families
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(user)

    assert listed_sids(client.get("/calls/")) == [other.sid, hers.sid]


def test_a_group_without_view_call_sees_no_call_log(client, agent_families):
    _, hers, _ = agent_families
    auditors = GroupFactory(name="Auditors", permissions=["calls.view_callevent"])
    client.force_login(UserFactory(groups=[auditors.name]))

    assert client.get("/calls/").status_code == 302
    assert client.get(f"/calls/{hers.sid}/").status_code == 302


def test_the_access_rule_costs_one_query_a_request(django_assert_num_queries):
    quality = GroupFactory(name="Quality", permissions=["calls.view_call"])
    user = UserFactory(groups=[quality.name])

    with django_assert_num_queries(1):
        assert can_view_call_log(user)
        assert can_view_call_log(user)


def test_an_agent_sees_only_the_families_of_its_own_legs(client, agent_families):
    alice, hers, other = agent_families
    client.force_login(alice.user)

    assert listed_sids(client.get("/calls/")) == [hers.sid]
    response = client.get(f"/calls/{hers.sid}/")
    assert response.status_code == 200
    assert len(response.context["family"].children) == 2
    assert client.get(f"/calls/{other.sid}/").status_code == 404
    assert client.get(f"/calls/{other.children.get().sid}/").status_code == 404
    exported = {row["sid"] for row in exported_rows(client.get("/calls/export.csv"))}
    assert exported == {hers.sid, *hers.children.values_list("sid", flat=True)}


@pytest.mark.parametrize("path", ["/calls/", "/calls/stats/", "/calls/export.csv"])
def test_users_without_a_role_are_sent_to_the_login_page(client, path):
    client.force_login(UserFactory())

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", ["/calls/", "/calls/stats/", "/calls/export.csv"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_detail_page_sends_users_without_a_role_to_login(client):
    family = call_family()
    client.force_login(UserFactory())

    assert client.get(f"/calls/{family.sid}/").status_code == 302


def test_navigation_links_to_the_call_log_only_for_those_who_may_see_it(client):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    assert 'href="/calls/"' in client.get("/").content.decode()

    client.force_login(UserFactory())
    assert 'href="/calls/"' not in client.get("/").content.decode()


def test_list_page_queries_stay_few(analyst_client, django_assert_max_num_queries):
    for hour in range(5):
        call_family(start=START + timedelta(hours=hour), children=[{"agent": AgentFactory()}])
    CallFactory(start_time=START)

    # On PostgreSQL the page's rows are read in a transaction of their own (SET LOCAL): inside
    # the test's transaction that is a savepoint, so three queries more than on SQLite. The
    # agents are listed twice, for the Agent and the Answered by filters, and the dispositions
    # once for theirs; one query finds the analyst's own time zone.
    with django_assert_max_num_queries(13):
        analyst_client.get("/calls/")


def parallel_workers_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


# Not in the test's own transaction: the page's transaction is then a real one, whose end
# restores the setting.
@pytest.mark.django_db(transaction=True)
def test_page_reads_families_with_a_serial_plan_and_leaves_the_connection_as_it_was(
    analyst_client,
):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    family = call_family(children=[{"status": "no-answer", "agent": AgentFactory()}])
    before = parallel_workers_setting()

    with CaptureQueriesContext(connection) as queries:
        response = analyst_client.get("/calls/", {"status": "no-answer"})

    assert listed_sids(response) == [family.sid]
    assert "SELECT set_config('max_parallel_workers_per_gather', '0', true)" in [
        q["sql"] for q in queries
    ]
    assert parallel_workers_setting() == before


def test_an_invalid_filter_is_shown_next_to_its_field_and_nothing_is_listed(analyst_client):
    call_family(duration=10, direction="outbound-api")

    response = analyst_client.get(
        "/calls/", {"status": "ringing-forever", "sort": "-duration", "direction": "outbound-api"}
    )

    assert response.status_code == 200
    assert listed_sids(response) == []
    body = response.content.decode()
    assert "ringing-forever is not one of the available choices" in body
    assert "Nothing is listed until the filters above are fixed." in body


def test_csv_export_of_more_families_than_one_batch_lists_each_leg_once_newest_family_first(
    analyst_client,
):
    """Families read batch by batch keep the export's order across the batches' edges:
    families not yet started first, then newest first, ties by id, highest first; each
    family's parent, then its child."""
    recent = timezone.now() - timedelta(hours=1)  # the statistics' triggers leave it alone
    template = call_family(start=recent, children=[{}])
    child_template = template.children.get()

    def copied(leg: Call, **changes) -> Call:
        fields = {
            field.attname: getattr(leg, field.attname)
            for field in Call._meta.concrete_fields
            if field.attname not in ("id", "sid", "parent_id", "start_time")
        }
        return Call(**fields, sid=random_sid("CA"), **changes)

    # Some not yet started, the others on three start times: ties everywhere.
    copies = Call.objects.bulk_create(
        copied(template, start_time=None if n % 5 == 0 else recent - timedelta(minutes=n % 3))
        for n in range(1, EXPORT_BATCH_FAMILIES * 2 + 1)
    )
    Call.objects.bulk_create(
        copied(child_template, parent_id=parent.id, start_time=parent.start_time)
        for parent in copies
    )
    parents = sorted(
        Call.objects.filter(parent__isnull=True),
        key=lambda call: (call.start_time is None, call.start_time or recent, call.id),
        reverse=True,
    )
    children = {call.parent_id: call.sid for call in Call.objects.filter(parent__isnull=False)}

    rows = exported_rows(analyst_client.get("/calls/export.csv"))

    assert [row["sid"] for row in rows] == [
        sid for parent in parents for sid in (parent.sid, children[parent.id])
    ]
