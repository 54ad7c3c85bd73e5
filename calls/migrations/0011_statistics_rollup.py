"""The statistics' daily rollup (calls.log.rollup), and the triggers that mark its days dirty.

A leg written, changed or deleted long after it started (a late callback, reconciliation, a
recording's callback, an edit by hand) may change a rolled-up day's figures. Each such row
marks its UTC day and the day before (a child leg may start just after its parent's
midnight) in calls_statsdirtyday, in the writer's own transaction; those days are counted
live until the rollup runs again. The WHEN clause keeps every leg of calls going on now
(started less than MARGIN ago) off the trigger: the webhooks' path pays nothing. MARGIN is
shorter than the time a day takes to settle (calls.log.rollup.SETTLING_DAYS), so that every
leg of a settled day's families is covered.
"""

import django.db.models.deletion
from django.db import migrations, models

MARGIN = "6 hours"

POSTGRESQL = f"""
CREATE FUNCTION calls_call_stats_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    starts timestamptz[] := '{{}}';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        starts := starts || OLD.start_time;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        starts := starts || NEW.start_time;
    END IF;
    INSERT INTO calls_statsdirtyday (utc_day, transaction_id)
    SELECT (changed.start_time AT TIME ZONE 'UTC')::date - shift.days, txid_current()
    FROM unnest(starts) AS changed (start_time), (VALUES (0), (1)) AS shift (days)
    WHERE changed.start_time IS NOT NULL
    ON CONFLICT (utc_day, transaction_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER call_stats_day_inserted AFTER INSERT ON calls_call
    FOR EACH ROW WHEN (NEW.start_time < now() - interval '{MARGIN}')
    EXECUTE FUNCTION calls_call_stats_day_changed();
CREATE TRIGGER call_stats_day_updated AFTER UPDATE ON calls_call
    FOR EACH ROW WHEN (
        OLD.start_time < now() - interval '{MARGIN}' OR NEW.start_time < now() - interval '{MARGIN}'
    )
    EXECUTE FUNCTION calls_call_stats_day_changed();
CREATE TRIGGER call_stats_day_deleted AFTER DELETE ON calls_call
    FOR EACH ROW WHEN (OLD.start_time < now() - interval '{MARGIN}')
    EXECUTE FUNCTION calls_call_stats_day_changed();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER call_stats_day_inserted ON calls_call;
DROP TRIGGER call_stats_day_updated ON calls_call;
DROP TRIGGER call_stats_day_deleted ON calls_call;
DROP FUNCTION calls_call_stats_day_changed();
"""

# SQLite keeps times as UTC text ('2026-11-02 09:00:05.123456'), which compares as it sorts.
_SQLITE_OLD = f"datetime('now', '-{MARGIN}')"


def _sqlite_marks(row: str) -> str:
    return f"""INSERT INTO calls_statsdirtyday (utc_day, transaction_id)
        SELECT date({row}.start_time, shift.days), NULL
        FROM (SELECT '+0 days' AS days UNION ALL SELECT '-1 days') AS shift
        WHERE {row}.start_time IS NOT NULL;"""


SQLITE = [
    f"""CREATE TRIGGER call_stats_day_inserted AFTER INSERT ON calls_call
    WHEN NEW.start_time < {_SQLITE_OLD}
    BEGIN {_sqlite_marks("NEW")} END""",
    f"""CREATE TRIGGER call_stats_day_updated AFTER UPDATE ON calls_call
    WHEN OLD.start_time < {_SQLITE_OLD} OR NEW.start_time < {_SQLITE_OLD}
    BEGIN {_sqlite_marks("OLD")} {_sqlite_marks("NEW")} END""",
    f"""CREATE TRIGGER call_stats_day_deleted AFTER DELETE ON calls_call
    WHEN OLD.start_time < {_SQLITE_OLD}
    BEGIN {_sqlite_marks("OLD")} END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS call_stats_day_inserted",
    "DROP TRIGGER IF EXISTS call_stats_day_updated",
    "DROP TRIGGER IF EXISTS call_stats_day_deleted",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0009_user_profile'),
        ('calls', '0010_compact_value_checks'),
    ]

    operations = [
        migrations.CreateModel(
            name='StatsDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time_zone', models.CharField(max_length=64)),
                ('day', models.DateField()),
                ('service_level_seconds', models.PositiveIntegerField()),
                ('rolled_up_at', models.DateTimeField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('time_zone', 'day'), name='statsday_zone_day_unique')],
            },
        ),
        migrations.CreateModel(
            name='StatsDirtyDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('utc_day', models.DateField()),
                ('transaction_id', models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('utc_day', 'transaction_id'), name='statsdirtyday_once_a_transaction')],
            },
        ),
        migrations.CreateModel(
            name='StatsAgentDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('offered', models.PositiveIntegerField()),
                ('answered', models.PositiveIntegerField()),
                ('answered_by_colleague', models.PositiveIntegerField()),
                ('missed', models.PositiveIntegerField()),
                ('talk_seconds', models.PositiveBigIntegerField()),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='agents.agent')),
                ('stats_day', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='agent_counts', to='calls.statsday')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('stats_day', 'agent'), name='statsagentday_day_agent_unique')],
            },
        ),
        migrations.CreateModel(
            name='StatsHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.PositiveSmallIntegerField()),
                ('kind', models.CharField(blank=True, max_length=8)),
                ('calls', models.PositiveIntegerField()),
                ('inbound', models.PositiveIntegerField()),
                ('answered', models.PositiveIntegerField()),
                ('answered_within_target', models.PositiveIntegerField()),
                ('abandoned', models.PositiveIntegerField()),
                ('stats_day', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='volumes', to='calls.statsday')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('stats_day', 'hour', 'kind'), name='statshour_day_hour_kind_unique'), models.CheckConstraint(condition=models.Q(('hour__lte', 23)), name='statshour_hour_of_day')],
            },
        ),
        migrations.CreateModel(
            name='StatsAnswerWait',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seconds', models.IntegerField()),
                ('calls', models.PositiveIntegerField()),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='agents.agent')),
                ('stats_day', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='answer_waits', to='calls.statsday')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('stats_day', 'agent', 'seconds'), name='statsanswerwait_unique')],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": [POSTGRESQL], "sqlite": SQLITE}),
            _run({"postgresql": [POSTGRESQL_REVERSE], "sqlite": SQLITE_REVERSE}),
        ),
    ]
