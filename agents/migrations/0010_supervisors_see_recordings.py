"""Let supervisors see recordings in the admin, where retention failures are explained."""

from importlib import import_module

from django.db import migrations

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0009_user_profile"),
        ("calls", "0003_recordings_and_missed_calls"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
