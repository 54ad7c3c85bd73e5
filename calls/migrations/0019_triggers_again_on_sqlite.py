"""The triggers on calls_call, made again on SQLite after 0016 remade the table.

Adding 0016's column and its check constraint makes Django remake calls_call on SQLite (a new
table, the rows copied, the old one dropped), and the old table's triggers go with it: the
two-level family triggers of 0003 (made again by 0012) and the statistics' day marks of 0011.
PostgreSQL alters in place and keeps them. A migration that remakes calls_call on SQLite must
make them again (the tests of families and of the statistics' marks fail on SQLite otherwise),
and the SQLite triggers' reverse statements in 0003 and 0011 drop them only if they exist.
"""

import importlib

from django.db import migrations

FAMILY_TWO_LEVELS = importlib.import_module("calls.migrations.0003_family_two_levels")
STATISTICS_MARKS = importlib.import_module("calls.migrations.0011_statistics_rollup")
TRIGGERS = (
    "call_family_two_levels_insert",
    "call_family_two_levels_update",
    "call_stats_day_inserted",
    "call_stats_day_updated",
    "call_stats_day_deleted",
)


def make_again_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)
    for create in [*FAMILY_TWO_LEVELS.SQLITE, *STATISTICS_MARKS.SQLITE]:
        schema_editor.execute(create, params=None)


class Migration(migrations.Migration):
    dependencies = [("calls", "0018_call_quality")]

    # Backwards, the triggers stay: they belong to 0003 and 0011.
    operations = [migrations.RunPython(make_again_on_sqlite, migrations.RunPython.noop)]
