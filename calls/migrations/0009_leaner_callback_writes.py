"""Fewer writes per Twilio callback, the same guarantees.

- Indexes nothing reads: the LIKE twins Django gives unique text fields (Call.sid and
  CallEvent.delivery_digest are unique through constraints instead), and the foreign keys'
  own indexes where a composite index leads with the same column.
- The two-level check (migration 0003) runs on an update only when the parent changes: a
  leg that keeps its parent keeps a valid family, and every callback of a child leg sets
  parent_id to what it was.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = """
DROP TRIGGER call_family_two_levels ON calls_call;
CREATE TRIGGER call_family_two_levels_insert
    BEFORE INSERT ON calls_call
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL)
    EXECUTE FUNCTION calls_call_family_two_levels();
CREATE TRIGGER call_family_two_levels_update
    BEFORE UPDATE OF parent_id ON calls_call
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL AND NEW.parent_id IS DISTINCT FROM OLD.parent_id)
    EXECUTE FUNCTION calls_call_family_two_levels();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER call_family_two_levels_insert ON calls_call;
DROP TRIGGER call_family_two_levels_update ON calls_call;
CREATE TRIGGER call_family_two_levels
    BEFORE INSERT OR UPDATE OF parent_id ON calls_call
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL)
    EXECUTE FUNCTION calls_call_family_two_levels();
"""


def _on_postgresql(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0008_agent_accounts"),
        ("calls", "0008_statistics_covering_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="call",
            name="agent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Our agent on this leg, when From or To is one of our clients.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="calls",
                to="agents.agent",
            ),
        ),
        migrations.AlterField(
            model_name="call",
            name="answered_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The agent whose leg answered the call (inbound and internal calls).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="answered_calls",
                to="agents.agent",
            ),
        ),
        migrations.AlterField(
            model_name="call",
            name="sid",
            field=models.CharField(max_length=34, verbose_name="call SID"),
        ),
        migrations.AlterField(
            model_name="callevent",
            name="call",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="calls.call",
            ),
        ),
        migrations.AlterField(
            model_name="callevent",
            name="delivery_digest",
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name="call",
            constraint=models.UniqueConstraint(fields=("sid",), name="call_sid_unique"),
        ),
        migrations.AddConstraint(
            model_name="callevent",
            constraint=models.UniqueConstraint(
                fields=("delivery_digest",), name="callevent_digest_unique"
            ),
        ),
        migrations.RunPython(_on_postgresql(POSTGRESQL), _on_postgresql(POSTGRESQL_REVERSE)),
    ]
