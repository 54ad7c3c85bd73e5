"""Dispositions (a list supervisors keep, seeded with a few) and each family's disposition
and note; supervisors are given the list and every family's disposition."""

from importlib import import_module

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles

# (name, order): what most teams start from; supervisors rename, retire or add in the admin.
DEFAULT_DISPOSITIONS = [
    ("resolved", 10),
    ("call back", 20),
    ("escalated", 30),
    ("wrong number", 40),
]


def seed_dispositions(apps, schema_editor):
    disposition_model = apps.get_model("calls", "Disposition")
    for name, order in DEFAULT_DISPOSITIONS:
        disposition_model.objects.get_or_create(name=name, defaults={"order": order})


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0011_supervisors_monitor_calls"),
        ("calls", "0021_blocked_families"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Disposition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=64, unique=True)),
                ("active", models.BooleanField(default=True, help_text="Offered to agents.")),
                (
                    "order",
                    models.PositiveSmallIntegerField(default=0, help_text="Lower comes first."),
                ),
            ],
            options={
                "ordering": ["order", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("name", ""), _negated=True), name="disposition_named"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FamilyDisposition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("note", models.CharField(blank=True, db_default="", max_length=2000)),
                ("written_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "call",
                    models.OneToOneField(
                        help_text="The family's parent leg.",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="family_disposition",
                        to="calls.call",
                    ),
                ),
                (
                    "disposition",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="calls.disposition",
                    ),
                ),
                (
                    "written_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("disposition__isnull", False),
                            models.Q(("note", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="familydisposition_says_something",
                    )
                ],
            },
        ),
        migrations.RunPython(seed_dispositions, migrations.RunPython.noop),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
