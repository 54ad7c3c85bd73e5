"""The demo's month of calls, written through the webhooks' service."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from calls.constants import TERMINAL_STATUSES
from calls.models import Call, CallEvent, Recording
from demo.calls import demo_calls_create
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import AgentFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def create_week():
    return demo_calls_create(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        number="+14155550100",
        caller_ids={"alice": "+14155550100", "bob": "+14155550100"},
        days=7,
        seed=5,
        now=NOW,
    )


def test_demo_week_is_families_of_legs_in_the_past_all_ended():
    calls = create_week()
    parents = Call.objects.filter(parent__isnull=True)
    assert parents.count() == calls
    assert not Call.objects.exclude(status__in=TERMINAL_STATUSES).exists()
    assert not Call.objects.filter(end_time__gt=NOW).exists()
    assert not CallEvent.objects.filter(timestamp__gt=NOW).exists()
    assert not Call.objects.filter(start_time__lt=NOW - timedelta(days=7)).exists()
    assert not Call.objects.filter(end_time__lt=F("start_time")).exists()
    assert not parents.annotate(legs=Count("children")).filter(legs=0).exists()
    assert CallEvent.objects.filter(call__parent__isnull=False).count() >= 3 * (
        Call.objects.count() - calls
    )


def test_demo_week_has_every_kind_of_call_and_outcome(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    AgentFactory(identity="alice")
    AgentFactory(identity="bob")
    create_week()
    directions = set(Call.objects.values_list("from_number", "to_number", "parent"))
    assert any(
        to.startswith("client:") and not src.startswith("client:") for src, to, _ in directions
    )
    assert any(
        src.startswith("client:") and to.startswith("+") for src, to, p in directions if p is None
    )
    statuses = set(Call.objects.values_list("status", flat=True))
    assert statuses >= {"completed", "no-answer", "busy", "canceled"}
    assert set(Call.objects.values_list("agent__identity", flat=True)) >= {"alice", "bob"}


def test_seed_demo_adds_calls_only_to_an_empty_table_unless_asked(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", "--days=2", stdout=StringIO())
    first = Call.objects.count()
    assert first > 0
    call_command("seed_demo", stdout=StringIO())
    assert Call.objects.count() == first
    call_command("seed_demo", "--calls", "--days=2", stdout=StringIO())
    assert Call.objects.count() > first


def test_demo_week_has_recorded_calls_and_voicemail_left_on_the_demo_number():
    number = PhoneNumberFactory(number="+14155550100")
    create_week()

    recorded = Recording.objects.filter(kind="call")
    voicemail = Recording.objects.filter(kind="voicemail")
    assert recorded.exists()
    assert voicemail.exists()
    assert set(Recording.objects.values_list("status", flat=True)) == {"completed"}
    assert not recorded.exclude(channels=2, source="DialVerb", call__parent__isnull=True).exists()
    assert not voicemail.exclude(voicemail_number=number, channels=1).exists()
    assert not voicemail.filter(created_at__gt=NOW).exists()
    # Each voicemail's call was missed, rang the agents and says a message was left.
    assert not voicemail.exclude(call__unanswered=True, call__voicemail_left=True).exists()
    assert all(
        sorted(offered) == ["alice", "bob"]
        for offered in voicemail.values_list("call__offered_to", flat=True)
    )
