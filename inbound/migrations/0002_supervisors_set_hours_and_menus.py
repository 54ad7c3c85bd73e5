"""Let supervisors set numbers' business hours and menus in the admin."""

from importlib import import_module

from django.db import migrations

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0010_supervisors_see_recordings"),
        ("inbound", "0001_hours_and_menus"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
