"""Let Supervisors delete anyone's voicemail."""

from importlib import import_module

from django.db import migrations

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0013_reconcile_locks_requests_checks"),
        ("agents", "0002_roles"),
        ("tokens", "0002_supervisor_permissions"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
