"""Store Twilio's error reports, and let Supervisors see them."""

import django.db.models.deletion
from importlib import import_module

from django.db import migrations, models

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0016_start_time_from_twilio"),
        ("agents", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="TwilioError",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.CharField(max_length=64, unique=True)),
                ("code", models.PositiveIntegerField()),
                ("level", models.CharField(blank=True, db_default="", max_length=16)),
                ("message", models.TextField(blank=True, db_default="")),
                ("resource_sid", models.CharField(blank=True, db_default="", max_length=34)),
                ("request_url", models.TextField(blank=True, db_default="")),
                ("occurred_at", models.DateTimeField()),
                ("received_at", models.DateTimeField()),
                (
                    "call",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="twilio_errors",
                        to="calls.call",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["occurred_at", "code"], name="twilioerror_time_code"),
                    models.Index(fields=["resource_sid"], name="twilioerror_resource_sid"),
                ],
            },
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
