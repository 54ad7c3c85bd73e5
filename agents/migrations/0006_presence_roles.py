"""Let supervisors and analysts see the history of agents' availability."""

from importlib import import_module

from django.db import migrations

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [("agents", "0005_presence")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
