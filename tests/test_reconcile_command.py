from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calls.models import Call, ReconcileRun
from tests.factories import random_sid

pytestmark = pytest.mark.django_db


def test_command_lists_calls_since_the_given_time(fake_twilio, capsys):
    old_sid, recent_sid = random_sid("CA"), random_sid("CA")
    now = timezone.now().replace(microsecond=0)
    fake_twilio.add_call(old_sid, start_time=now - timedelta(days=3))
    fake_twilio.add_call(recent_sid, start_time=now - timedelta(hours=30))
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    call_command("reconcile_calls", "--since", since)

    assert list(Call.objects.values_list("sid", flat=True)) == [recent_sid]
    assert "Succeeded: 1 pages, 1 calls seen, 1 created" in capsys.readouterr().out


def test_command_reconciles_one_call(fake_twilio):
    sid = random_sid("CA")
    fake_twilio.add_call(sid, start_time=timezone.now() - timedelta(days=30))

    call_command("reconcile_calls", "--sid", sid)

    assert ReconcileRun.objects.get().call_sid == sid
    assert Call.objects.filter(sid=sid).exists()


def test_command_refuses_what_is_not_a_call_sid():
    with pytest.raises(CommandError, match="not a call SID"):
        call_command("reconcile_calls", "--sid", "CA123")


def test_command_reports_a_failed_run(fake_twilio, settings):
    settings.TWILIO_API_KEY_SECRET = "wrong"

    with pytest.raises(CommandError, match="refused the credentials"):
        call_command("reconcile_calls")
