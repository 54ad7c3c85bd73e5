"""Let Supervisors delete anyone's voicemail."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from voiceproject.roles import roles_create


def grant_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_create(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0013_reconcile_locks_requests_checks"),
        ("tokens", "0002_supervisor_permissions"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
