"""Business hours: whether a number is open at an instant (on the days clocks change too),
and what its callers get from the Voice URL when it is closed."""

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound.hours import OpeningHours, first_overlap, is_open_at
from tests.factories import (
    AgentFactory,
    HolidayFactory,
    NumberHoursFactory,
    PhoneNumberFactory,
    ScheduleFactory,
    UserFactory,
    WeeklyIntervalFactory,
)
from tests.test_unanswered_calls import dial_action, tags
from tests.test_voice_twiml import CUSTOMER, SUPPORT_LINE, answer, phone_form, rung_identities
from voiceproject.roles import SUPERVISORS

SUNDAY, MONDAY, FRIDAY = 6, 0, 4
OTHER_OFFICE = "+442079460000"
RECORDING_CALLBACK = "http://testserver/twilio/recording/"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(zone: str, *intervals: tuple[int, str, str], holidays=()) -> OpeningHours:
    return OpeningHours(
        zone=ZoneInfo(zone),
        intervals=frozenset(
            (weekday, time.fromisoformat(opens), time.fromisoformat(closes))
            for weekday, opens, closes in intervals
        ),
        holidays=frozenset(date.fromisoformat(day) for day in holidays),
    )


# Sundays 01:00 to 04:00 local: around the hour the clocks skip or repeat on a change day.
AROUND_THE_CHANGE = (SUNDAY, "01:00", "04:00")


@pytest.mark.parametrize(
    ("zone", "instant", "is_open"),
    [
        # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST; the interval lasts two hours.
        ("Europe/Berlin", "2026-03-28T23:59", False),  # 00:59 CET
        ("Europe/Berlin", "2026-03-29T00:00", True),  # 01:00 CET
        ("Europe/Berlin", "2026-03-29T00:59", True),  # 01:59 CET, a minute before the jump
        ("Europe/Berlin", "2026-03-29T01:00", True),  # 03:00 CEST
        ("Europe/Berlin", "2026-03-29T01:59", True),  # 03:59 CEST
        ("Europe/Berlin", "2026-03-29T02:00", False),  # 04:00 CEST
        # Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET; the interval lasts four hours.
        ("Europe/Berlin", "2026-10-24T22:59", False),  # 00:59 CEST
        ("Europe/Berlin", "2026-10-24T23:00", True),  # 01:00 CEST
        ("Europe/Berlin", "2026-10-25T00:30", True),  # 02:30 CEST, the first time
        ("Europe/Berlin", "2026-10-25T01:30", True),  # 02:30 CET, the second time
        ("Europe/Berlin", "2026-10-25T02:59", True),  # 03:59 CET
        ("Europe/Berlin", "2026-10-25T03:00", False),  # 04:00 CET
        # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT.
        ("America/New_York", "2026-03-08T05:59", False),  # 00:59 EST
        ("America/New_York", "2026-03-08T06:30", True),  # 01:30 EST
        ("America/New_York", "2026-03-08T07:30", True),  # 03:30 EDT
        ("America/New_York", "2026-03-08T07:59", True),  # 03:59 EDT
        ("America/New_York", "2026-03-08T08:00", False),  # 04:00 EDT
        # New York, 1 November 2026: 02:00 EDT becomes 01:00 EST.
        ("America/New_York", "2026-11-01T04:59", False),  # 00:59 EDT
        ("America/New_York", "2026-11-01T05:30", True),  # 01:30 EDT, the first time
        ("America/New_York", "2026-11-01T06:30", True),  # 01:30 EST, the second time
        ("America/New_York", "2026-11-01T08:59", True),  # 03:59 EST
        ("America/New_York", "2026-11-01T09:00", False),  # 04:00 EST
    ],
)
def test_an_interval_around_the_changed_hour_follows_the_wall_clock(zone, instant, is_open):
    assert is_open_at(hours(zone, AROUND_THE_CHANGE), utc(instant)) is is_open


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        ("2026-03-23T07:59", False),  # Monday before the change, 08:59 CET
        ("2026-03-23T08:00", True),  # 09:00 CET
        ("2026-03-30T06:59", False),  # Monday after the change, 08:59 CEST
        ("2026-03-30T07:00", True),  # 09:00 CEST
        ("2026-03-30T14:59", True),  # 16:59 CEST
        ("2026-03-30T15:00", False),  # 17:00 CEST
    ],
)
def test_opening_stays_at_nine_local_on_either_side_of_a_change(instant, is_open):
    office = hours("Europe/Berlin", (MONDAY, "09:00", "17:00"))

    assert is_open_at(office, utc(instant)) is is_open


def test_a_holiday_is_closed_all_day_in_the_schedules_own_zone():
    # 21:00 on Friday 25 December in New York is already the 26th in UTC.
    evening = hours("America/New_York", (FRIDAY, "20:00", "22:00"), holidays=["2026-12-25"])

    assert is_open_at(evening, utc("2026-12-26T02:00")) is False
    assert is_open_at(evening, utc("2026-12-19T02:00")) is True


def test_a_closing_time_of_midnight_keeps_the_day_open_to_its_end():
    late = hours("Europe/Berlin", (FRIDAY, "18:00", "00:00"))

    assert is_open_at(late, utc("2026-11-06T22:59")) is True  # Friday 23:59 CET
    assert is_open_at(late, utc("2026-11-06T23:00")) is False  # Saturday 00:00 CET


def test_the_weekday_is_the_local_one():
    # Monday 00:30 in Tokyo is still Sunday in UTC.
    tokyo = hours("Asia/Tokyo", (MONDAY, "00:00", "01:00"))

    assert is_open_at(tokyo, utc("2026-11-01T15:30")) is True


def test_a_schedule_without_intervals_is_always_closed():
    assert is_open_at(hours("UTC"), utc("2026-11-02T12:00")) is False


@pytest.mark.parametrize(
    ("intervals", "overlaps"),
    [
        ([(MONDAY, "09:00", "12:00"), (MONDAY, "11:00", "17:00")], True),
        ([(MONDAY, "09:00", "00:00"), (MONDAY, "22:00", "23:00")], True),
        ([(MONDAY, "09:00", "12:00"), (MONDAY, "12:00", "17:00")], False),
        ([(MONDAY, "09:00", "17:00"), (FRIDAY, "09:00", "17:00")], False),
    ],
)
def test_intervals_of_one_weekday_may_touch_but_not_overlap(intervals, overlaps):
    parsed = [(day, time.fromisoformat(a), time.fromisoformat(b)) for day, a, b in intervals]

    assert (first_overlap(parsed) is not None) is overlaps


# The Voice URL, signed as Twilio signs it, at instants on either side of each change.


@pytest.fixture
def clock(monkeypatch):
    """Set the server's clock (Django's timezone.now) to an instant."""

    def set_to(instant: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: instant)

    return set_to


def support_line_keeping(zone: str, *intervals, **changes):
    """SUPPORT_LINE, ringing alice, with hours in the zone and closed actions as changed."""
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    line.agents.add(AgentFactory(identity="alice", availability="available"))
    schedule = ScheduleFactory(time_zone=zone)
    for weekday, opens, closes in intervals:
        WeeklyIntervalFactory(
            schedule=schedule,
            weekday=weekday,
            opens_at=time.fromisoformat(opens),
            closes_at=time.fromisoformat(closes),
        )
    NumberHoursFactory(phone_number=line, schedule=schedule, **changes)
    return line


def call_at(client, clock, instant: str) -> ET.Element:
    clock(utc(instant))
    return answer(client, phone_form(SUPPORT_LINE))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "instant", "rings"),
    [
        ("Europe/Berlin", "2026-03-28T23:59", False),
        ("Europe/Berlin", "2026-03-29T01:59", True),
        ("Europe/Berlin", "2026-03-29T02:00", False),
        ("Europe/Berlin", "2026-10-25T01:30", True),
        ("Europe/Berlin", "2026-10-25T03:00", False),
        ("America/New_York", "2026-03-08T05:59", False),
        ("America/New_York", "2026-03-08T07:59", True),
        ("America/New_York", "2026-03-08T08:00", False),
        ("America/New_York", "2026-11-01T06:30", True),
        ("America/New_York", "2026-11-01T09:00", False),
    ],
)
def test_a_call_on_a_change_day_rings_only_while_open(client, clock, zone, instant, rings):
    support_line_keeping(zone, AROUND_THE_CHANGE)

    document = call_at(client, clock, instant)

    if rings:
        assert rung_identities(document.find("Dial")) == ["alice"]
    else:
        assert tags(document) == ["Say", "Hangup"]


@pytest.mark.django_db
def test_a_call_on_a_holiday_hears_the_closed_message(client, clock):
    line = support_line_keeping("Europe/Berlin", (FRIDAY, "09:00", "17:00"))
    HolidayFactory(schedule=line.hours.schedule, date=date(2026, 12, 25), name="Christmas")

    on_christmas = call_at(client, clock, "2026-12-25T11:00")
    a_week_before = call_at(client, clock, "2026-12-18T11:00")

    assert tags(on_christmas) == ["Say", "Hangup"]
    assert "We are closed right now" in on_christmas.find("Say").text
    assert rung_identities(a_week_before.find("Dial")) == ["alice"]


SUNDAY_NIGHT = "2026-11-01T22:00"  # closed for the office hours below
OFFICE_HOURS = (MONDAY, "09:00", "17:00")


@pytest.mark.django_db
def test_the_closed_message_is_the_numbers_own_when_set(client, clock):
    support_line_keeping("Europe/Berlin", OFFICE_HOURS, closed_greeting="Back on Monday at 9.")

    document = call_at(client, clock, SUNDAY_NIGHT)

    assert tags(document) == ["Say", "Hangup"]
    assert document.find("Say").text == "Back on Monday at 9."


@pytest.mark.django_db
def test_closed_for_voicemail_takes_a_message_for_the_number(client, clock):
    line = support_line_keeping("Europe/Berlin", OFFICE_HOURS, closed_action="voicemail")

    document = call_at(client, clock, SUNDAY_NIGHT)

    assert tags(document) == ["Say", "Record"]
    assert "Please leave a message" in document.find("Say").text
    record = document.find("Record")
    assert record.attrib["recordingStatusCallback"] == f"{RECORDING_CALLBACK}?number={line.pk}"
    assert record.attrib["action"] == "http://testserver/twilio/voicemail/done/"


@pytest.mark.django_db
def test_closed_for_forward_rings_the_other_office_from_our_number(client, clock):
    support_line_keeping(
        "Europe/Berlin", OFFICE_HOURS, closed_action="forward", forward_to=OTHER_OFFICE
    )

    (dial,) = call_at(client, clock, SUNDAY_NIGHT)

    assert dial.attrib["callerId"] == SUPPORT_LINE
    assert dial.attrib["action"] == "http://testserver/twilio/dial/?offered=&forwarded=1"
    assert [(noun.tag, noun.text) for noun in dial] == [("Number", OTHER_OFFICE)]


@pytest.mark.django_db
def test_a_closed_forward_nobody_answers_goes_to_voicemail(client, clock):
    support_line_keeping(
        "Europe/Berlin", OFFICE_HOURS, closed_action="forward", forward_to=OTHER_OFFICE
    )
    clock(utc(SUNDAY_NIGHT))

    response = dial_action(
        phone_form(SUPPORT_LINE),
        "no-answer",
        client,
        query={
            "offered": "",
            "forwarded": "1",
        },
    )

    assert tags(ET.fromstring(response.content)) == ["Say", "Record"]


@pytest.mark.django_db
def test_a_closed_forward_back_to_the_caller_takes_voicemail_instead(client, clock):
    support_line_keeping(
        "Europe/Berlin", OFFICE_HOURS, closed_action="forward", forward_to=CUSTOMER
    )

    document = call_at(client, clock, SUNDAY_NIGHT)

    assert tags(document) == ["Say", "Record"]


@pytest.mark.django_db
def test_a_number_without_hours_rings_at_any_time(client, clock):
    PhoneNumberFactory(number=SUPPORT_LINE).agents.add(
        AgentFactory(identity="alice", availability="available")
    )

    document = call_at(client, clock, SUNDAY_NIGHT)

    assert rung_identities(document.find("Dial")) == ["alice"]


@pytest.mark.django_db
def test_a_schedule_in_a_zone_the_server_no_longer_knows_rings_rather_than_refuse(client, clock):
    line = support_line_keeping("Europe/Berlin", OFFICE_HOURS)
    # As after a tzdata update that renamed the zone.
    type(line.hours.schedule).objects.update(time_zone="Europe/Atlantis")

    document = call_at(client, clock, SUNDAY_NIGHT)

    assert rung_identities(document.find("Dial")) == ["alice"]


@pytest.mark.django_db
def test_a_number_without_hours_or_menu_costs_no_query_more(client):
    PhoneNumberFactory(number=SUPPORT_LINE)

    with CaptureQueriesContext(connection) as queries:
        answer(client, phone_form(SUPPORT_LINE))

    # Its steps are read with the number itself (joined), never asked for on their own; the
    # blocklist, which is the caller's, is asked before the number is read. (Routing's own
    # read of the agents free to ring looks into queues' offers and wrap-ups in subqueries.)
    inbound_queries = [
        q["sql"]
        for q in queries
        if 'FROM "inbound_' in (q["sql"] or "") and not q["sql"].startswith('SELECT "agents_agent"')
    ]
    assert [sql for sql in inbound_queries if "inbound_blockedcaller" not in sql] == []


# The admin, for supervisors.


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))
    return client


def schedule_form(**intervals_and_fields) -> dict[str, str]:
    """The schedule admin's add form, with its two inlines' management forms."""
    form = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "intervals-INITIAL_FORMS": "0",
        "intervals-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": "0",
    }
    return form | intervals_and_fields


def interval_rows(*intervals) -> dict[str, str]:
    rows = {"intervals-TOTAL_FORMS": str(len(intervals))}
    for index, (weekday, opens, closes) in enumerate(intervals):
        rows |= {
            f"intervals-{index}-weekday": str(weekday),
            f"intervals-{index}-opens_at": opens,
            f"intervals-{index}-closes_at": closes,
        }
    return rows


@pytest.mark.django_db
def test_a_supervisor_adds_a_schedule_with_its_intervals(supervisor_client):
    form = schedule_form(**interval_rows((MONDAY, "09:00", "12:00"), (MONDAY, "13:00", "17:00")))

    response = supervisor_client.post("/admin/inbound/schedule/add/", form)

    assert response.status_code == 302
    (schedule,) = ScheduleFactory._meta.model.objects.all()
    assert [str(interval) for interval in schedule.intervals.all()] == [
        "Monday 09:00 to 12:00",
        "Monday 13:00 to 17:00",
    ]


@pytest.mark.django_db
def test_the_admin_refuses_overlapping_intervals(supervisor_client):
    form = schedule_form(**interval_rows((MONDAY, "09:00", "12:00"), (MONDAY, "11:00", "17:00")))

    response = supervisor_client.post("/admin/inbound/schedule/add/", form)

    assert response.status_code == 200
    assert "Monday 09:00 to 12:00 and Monday 11:00 to 17:00 overlap" in response.text
    assert not ScheduleFactory._meta.model.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_closing_time_before_the_opening(supervisor_client):
    form = schedule_form(**interval_rows((MONDAY, "17:00", "09:00")))

    response = supervisor_client.post("/admin/inbound/schedule/add/", form)

    assert response.status_code == 200
    assert "The closing time must be after the opening time" in response.text


@pytest.mark.django_db
def test_the_admin_refuses_a_time_zone_it_does_not_know(supervisor_client):
    response = supervisor_client.post(
        "/admin/inbound/schedule/add/", schedule_form(time_zone="Mars/Olympus_Mons")
    )

    assert response.status_code == 200
    assert "Choose a time zone by its IANA name" in response.text


@pytest.mark.django_db
def test_the_schedule_page_says_whether_it_is_open_now(supervisor_client):
    always = ScheduleFactory(name="Always", time_zone="UTC")
    for weekday in range(7):
        WeeklyIntervalFactory(schedule=always, weekday=weekday, opens_at=time(0), closes_at=time(0))

    page = supervisor_client.get(f"/admin/inbound/schedule/{always.pk}/change/")

    assert page.status_code == 200
    assert "Open now?" in page.text
    assert 'alt="True"' in page.text


@pytest.mark.django_db
def test_the_admin_refuses_to_forward_closed_calls_to_one_of_our_numbers(supervisor_client):
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    other_line = PhoneNumberFactory()
    schedule = ScheduleFactory()

    response = supervisor_client.post(
        "/admin/inbound/numberhours/add/",
        {
            "phone_number": line.pk,
            "schedule": schedule.pk,
            "closed_action": "forward",
            "forward_to": other_line.number,
        },
    )

    assert response.status_code == 200
    assert "is one of your own numbers" in response.text
