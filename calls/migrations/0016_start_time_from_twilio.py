"""Say whether a leg's start time is Twilio's, so that our clock never moves it.

A stored start counts as Twilio's where the leg has a delivery carrying a Timestamp (the
start was then the earliest of them and of our clock's, as the merge was), or where it has
no delivery at all (only the REST API, or a page of test data, gave it). Only a leg known so
far from requests without a Timestamp (the Voice URL's, while the call goes on) keeps our
clock's start, for its first timed callback or reconciliation to replace.
"""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q


def mark_twilio_starts(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    CallEvent = apps.get_model("calls", "CallEvent")
    events = CallEvent.objects.filter(call=OuterRef("pk"))
    timed = events.filter(parameters__has_key="Timestamp").exclude(parameters__Timestamp="")
    Call.objects.filter(start_time__isnull=False).filter(
        Exists(timed) | ~Exists(events)
    ).update(start_time_from_twilio=True)


class Migration(migrations.Migration):
    dependencies = [("calls", "0015_parent_answer_from_child")]

    operations = [
        migrations.AddField(
            model_name="call",
            name="start_time_from_twilio",
            field=models.BooleanField(
                db_default=False,
                help_text="The start time is Twilio's (a Timestamp or the REST API), not our "
                "clock's when a request without a Timestamp came.",
            ),
        ),
        migrations.AddConstraint(
            model_name="call",
            constraint=models.CheckConstraint(
                condition=Q(start_time_from_twilio=False) | Q(start_time__isnull=False),
                name="call_twilio_start_is_set",
            ),
        ),
        # Backwards, the column goes and the start times stay as they are.
        migrations.RunPython(mark_twilio_starts, migrations.RunPython.noop),
    ]
