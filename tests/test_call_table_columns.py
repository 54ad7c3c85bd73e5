"""The call table's writers take their columns from Call._meta: a new field needs a model change
and a migration, nothing else. Their statements are built on first use, not at import."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, models
from django.utils import timezone

from calls.call_table import call_table_statements, call_table_statements_forget
from calls.models import Call
from calls.reconcile.runs import reconcile_recent_calls
from tests.factories import random_sid
from tests.twilio_requests import agent_call_deliveries, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields_added_to_call():
    """Call as it would be after adding three fields and migrating: an ordinary CharField, a
    nullable one and one with a db_default. The writer's statements, built before from Call
    as it was, are forgotten so that the next write builds them anew.

    PostgreSQL only: its DDL is undone with the test's transaction.
    """
    if connection.vendor != "postgresql":
        pytest.skip("needs transactional DDL")
    fields = {
        "note": models.CharField(max_length=40, blank=True),
        "rating": models.PositiveIntegerField(null=True, blank=True),
        "channel": models.CharField(max_length=16, db_default="voice"),
    }
    call_table_statements()  # built from Call as it was, as an earlier write would have
    for name, field in fields.items():
        field.contribute_to_class(Call, name)
    try:
        with connection.schema_editor() as editor:
            for field in fields.values():
                editor.add_field(Call, field)
        call_table_statements_forget()
        yield
    finally:
        for name, field in fields.items():
            Call._meta.local_fields.remove(field)
            delattr(Call, name)
        Call._meta._expire_cache()
        call_table_statements_forget()


def new_columns(sid: str) -> tuple:
    return Call.objects.values_list("note", "rating", "channel").get(sid=sid)


@pytest.mark.usefixtures("fields_added_to_call")
def test_webhooks_write_legs_and_placeholders_into_a_fields_added_to_call(client):
    deliveries = agent_call_deliveries(seed=1)
    child = next(d for d in deliveries if d.parameters.get("ParentCallSid"))
    assert deliver(client, child).status_code in (200, 204)  # its parent becomes a placeholder
    for delivery in deliveries:
        assert deliver(client, delivery).status_code in (200, 204)

    assert Call.objects.count() == 2
    for sid in Call.objects.values_list("sid", flat=True):
        assert new_columns(sid) == ("", None, "voice")


@pytest.mark.usefixtures("fields_added_to_call")
def test_reconciliation_writes_legs_and_placeholders_into_a_fields_added_to_call(fake_twilio):
    parent_sid, child_sid = random_sid("CA"), random_sid("CA")
    started = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    fake_twilio.add_call(child_sid, parent_call_sid=parent_sid, start_time=started)

    reconcile_recent_calls()

    assert new_columns(child_sid) == ("", None, "voice")
    assert new_columns(parent_sid) == ("", None, "voice")


# Setting Django up imports the writer (the admin's modules do) and reads the connection
# itself, so the writer is imported again, alone, once every database is refused.
IMPORT_WITH_THE_DATABASE_REFUSED = """
import sys

import django
from django.db import connections
from django.db.utils import ConnectionHandler

django.setup()


class Refused(ConnectionHandler):
    def __getitem__(self, alias):
        raise AssertionError(f"the database {alias!r} was used at import")


connections.__class__ = Refused
del sys.modules["calls.call_table"]
import calls.call_table
"""


def test_importing_the_writer_reads_no_database_connection_nor_its_vendor():
    imported = subprocess.run(
        [sys.executable, "-c", IMPORT_WITH_THE_DATABASE_REFUSED],
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "voiceproject.settings"},
        capture_output=True,
        text=True,
    )

    assert imported.returncode == 0, imported.stderr
