"""Families have two levels: a leg's parent is a root, and a parent is no one's child.

The writer (calls.call_table) links a leg to its family's root and never gives a parent to a
leg that heads a family; these triggers refuse whatever else would write a deeper chain, or
a cycle (A's parent B while B's parent is A), which would hide both legs from every list.
"""

from django.db import migrations

MESSAGE = "a call family has two levels: a parent is a root and has no parent"

POSTGRESQL = f"""
CREATE FUNCTION calls_call_family_two_levels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM calls_call WHERE id = NEW.parent_id AND parent_id IS NOT NULL)
        OR EXISTS (SELECT 1 FROM calls_call WHERE parent_id = NEW.id) THEN
        RAISE EXCEPTION 'call % cannot take parent %: {MESSAGE}', NEW.sid, NEW.parent_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER call_family_two_levels
    BEFORE INSERT OR UPDATE OF parent_id ON calls_call
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL)
    EXECUTE FUNCTION calls_call_family_two_levels();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER call_family_two_levels ON calls_call;
DROP FUNCTION calls_call_family_two_levels();
"""

_SQLITE_VIOLATION = """NEW.parent_id IS NOT NULL AND (
    EXISTS (SELECT 1 FROM calls_call WHERE id = NEW.parent_id AND parent_id IS NOT NULL)
    OR EXISTS (SELECT 1 FROM calls_call WHERE parent_id = NEW.id))"""
SQLITE = [
    f"""CREATE TRIGGER call_family_two_levels_{event.split()[0].lower()}
    BEFORE {event} ON calls_call WHEN {_SQLITE_VIOLATION}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
    for event in ("INSERT", "UPDATE OF parent_id")
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS call_family_two_levels_insert",
    "DROP TRIGGER IF EXISTS call_family_two_levels_update",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("calls", "0002_blank_text_db_defaults")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": [POSTGRESQL], "sqlite": SQLITE}),
            _run({"postgresql": [POSTGRESQL_REVERSE], "sqlite": SQLITE_REVERSE}),
        )
    ]
