"""Let supervisors see conferences and listen to, coach and join live calls."""

from importlib import import_module

from django.db import migrations

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0010_supervisors_see_recordings"),
        ("calls", "0020_conference_hub"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
