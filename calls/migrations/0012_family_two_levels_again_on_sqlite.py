"""The two-level family triggers of 0003, made again on SQLite.

SQLite cannot alter most columns in place, so Django remakes the table (a new table, the
rows copied, the old one dropped) and the triggers on the old table go with it: after the
later migrations that altered calls_call, a SQLite database had lost them and took a chain
of three legs or a parent cycle. PostgreSQL alters in place and keeps its trigger. A
migration that remakes calls_call on SQLite must make them again (the tests that refuse a
chain of three and a cycle fail on SQLite otherwise).
"""

import importlib

from django.db import migrations

FAMILY_TWO_LEVELS = importlib.import_module("calls.migrations.0003_family_two_levels")


def make_again_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in ("call_family_two_levels_insert", "call_family_two_levels_update"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)
    for create in FAMILY_TWO_LEVELS.SQLITE:
        schema_editor.execute(create, params=None)


class Migration(migrations.Migration):
    dependencies = [("calls", "0011_statistics_rollup")]

    # Backwards, the triggers stay: they belong to 0003.
    operations = [migrations.RunPython(make_again_on_sqlite, migrations.RunPython.noop)]
