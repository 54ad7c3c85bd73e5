"""A family the blocklist rejected: its parent leg says so (Call.blocked), the statistics'
covering index carries it, and the triggers on calls_call are made again on SQLite.

Adding a column that is not nullable makes Django remake calls_call on SQLite, which drops
its triggers (see 0019): they are made again here the same way.
"""

import importlib

from django.db import migrations, models

make_again_on_sqlite = importlib.import_module(
    "calls.migrations.0019_triggers_again_on_sqlite"
).make_again_on_sqlite


class Migration(migrations.Migration):
    dependencies = [("calls", "0020_conference_hub")]

    operations = [
        migrations.RemoveIndex(model_name="call", name="call_parent_stats_idx"),
        migrations.AddField(
            model_name="call",
            name="blocked",
            field=models.BooleanField(
                db_default=False,
                help_text="Rejected before anything rang: the caller is on the blocklist.",
            ),
        ),
        migrations.AddIndex(
            model_name="call",
            index=models.Index(
                condition=models.Q(("parent__isnull", True)),
                fields=["start_time"],
                include=(
                    "id",
                    "kind",
                    "status",
                    "dial_result",
                    "child_answer_time",
                    "voicemail_left",
                    "answered_by",
                    "blocked",
                ),
                name="call_parent_stats_idx",
            ),
        ),
        # Backwards, the triggers stay: they belong to 0003 and 0011.
        migrations.RunPython(make_again_on_sqlite, migrations.RunPython.noop),
    ]
