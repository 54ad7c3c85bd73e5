"""The blocklist, managed by supervisors."""

from importlib import import_module

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):


    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("agents", "0011_supervisors_monitor_calls"),
        ("inbound", "0002_supervisors_set_hours_and_menus"),
    ]

    operations = [
        migrations.CreateModel(
            name='BlockedCaller',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(help_text='In E.164 (+14155550123); with “prefix”, the first digits of the numbers to block (+1900).', max_length=16, unique=True)),
                ('is_prefix', models.BooleanField(default=False, help_text='Block every number that starts with these digits.', verbose_name='prefix')),
                ('reason', models.CharField(max_length=200)),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('added_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['number'],
                'constraints': [models.CheckConstraint(condition=models.Q(('number__regex', '^\\+[1-9][0-9]{0,14}$')), name='blockedcaller_number_format'), models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='blockedcaller_has_reason')],
            },
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
