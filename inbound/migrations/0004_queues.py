"""Queues: their members and numbers, callers waiting, offers reserving an agent and
wrap-ups; supervisors define queues in the admin."""

from importlib import import_module

import agents.validators
import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

# The roles migration grants whatever voiceproject.roles lists, and is safe to repeat.
create_roles = import_module("agents.migrations.0002_roles").create_roles


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0011_supervisors_monitor_calls'),
        ('inbound', '0003_blocklist'),
    ]

    operations = [
        migrations.CreateModel(
            name='Queue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('unanswered_policy', models.CharField(choices=[('voicemail', 'greeting, then voicemail'), ('forward', 'forward to another number'), ('message', 'spoken message, then hang up')], default='voicemail', help_text='What a caller hears when nobody answers or nobody can take the call.', max_length=9)),
                ('unanswered_greeting', models.TextField(blank=True, help_text='Spoken before the voicemail beep, or as the message; a default when empty.')),
                ('forward_to', models.CharField(blank=True, help_text='E.164 number rung by the forward policy (a mobile, another office).', max_length=16, validators=[agents.validators.validate_e164])),
                ('record_calls', models.BooleanField(default=False, help_text='Record answered calls in two channels (caller and agent apart).')),
                ('recording_announcement', models.TextField(blank=True, help_text='Spoken to the caller before a recorded call is connected; none when empty.')),
                ('name', models.CharField(max_length=64, unique=True)),
                ('routing', models.CharField(choices=[('longest-idle', 'longest idle first, one agent at a time'), ('ring-all', 'every free member at once')], default='longest-idle', max_length=12)),
                ('ring_timeout', models.PositiveSmallIntegerField(default=20, help_text='How long one offer rings before the next agent is tried.', validators=[django.core.validators.MinValueValidator(5), django.core.validators.MaxValueValidator(600)], verbose_name='ring timeout (s)')),
                ('wrap_up_seconds', models.PositiveSmallIntegerField(default=30, help_text='After a call the agent takes no call for this long (she can end it early).', validators=[django.core.validators.MaxValueValidator(3600)], verbose_name='wrap-up (s)')),
                ('maximum_wait', models.PositiveIntegerField(default=600, help_text="After this long, the caller goes to the queue's unanswered-call policy.", validators=[django.core.validators.MinValueValidator(10), django.core.validators.MaxValueValidator(14400)], verbose_name='maximum wait (s)')),
                ('announce_every', models.PositiveSmallIntegerField(default=30, help_text='How often a waiting caller hears her position and expected wait.', validators=[django.core.validators.MinValueValidator(10), django.core.validators.MaxValueValidator(3600)], verbose_name='announce every (s)')),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='QueueCaller',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('call_sid', models.CharField(max_length=34, verbose_name='call SID')),
                ('arrived_at', models.DateTimeField()),
                ('outcome', models.CharField(choices=[('waiting', 'Waiting'), ('answered', 'Answered'), ('abandoned', 'hung up while waiting'), ('timed-out', 'waited the maximum wait')], default='waiting', max_length=9)),
                ('ended_at', models.DateTimeField(blank=True, help_text='When the wait ended: answered, hung up or timed out.', null=True)),
                ('wait_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('announced_at', models.DateTimeField(blank=True, help_text='When the caller last heard her position.', null=True)),
                ('agent', models.ForeignKey(blank=True, help_text='The agent who answered.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='queue_calls', to='agents.agent')),
                ('queue', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='callers', to='inbound.queue')),
            ],
            options={
                'ordering': ['arrived_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='QueueMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order', models.PositiveSmallIntegerField(default=0)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='queue_memberships', to='agents.agent')),
                ('queue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='inbound.queue')),
            ],
            options={
                'ordering': ['queue', 'order', 'agent'],
            },
        ),
        migrations.AddField(
            model_name='queue',
            name='members',
            field=models.ManyToManyField(related_name='queues', through='inbound.QueueMember', to='agents.agent'),
        ),
        migrations.CreateModel(
            name='QueueNumber',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='queue_link', to='agents.phonenumber')),
                ('queue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='numbers', to='inbound.queue')),
            ],
            options={
                'ordering': ['number'],
            },
        ),
        migrations.CreateModel(
            name='QueueOffer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('offered_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField(help_text='After this, an offer Twilio never reported on no longer holds the agent.')),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('result', models.CharField(blank=True, choices=[('', 'Ringing'), ('answered', 'Answered'), ('not-answered', 'Not Answered'), ('caller-left', 'caller hung up'), ('expired', 'no word from Twilio')], default='', max_length=12)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='queue_offers', to='agents.agent')),
                ('caller', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='offers', to='inbound.queuecaller')),
            ],
            options={
                'ordering': ['offered_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='WrapUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('ends_at', models.DateTimeField()),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='wrap_ups', to='agents.agent')),
                ('caller', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='wrap_up', to='inbound.queuecaller')),
            ],
            options={
                'ordering': ['-started_at'],
            },
        ),
        migrations.AddIndex(
            model_name='queuecaller',
            index=models.Index(condition=models.Q(('outcome', 'waiting')), fields=['queue', 'arrived_at', 'id'], name='queuecaller_waiting_idx'),
        ),
        migrations.AddIndex(
            model_name='queuecaller',
            index=models.Index(fields=['arrived_at'], name='queuecaller_arrived_idx'),
        ),
        migrations.AddConstraint(
            model_name='queuecaller',
            constraint=models.UniqueConstraint(fields=('call_sid',), name='queuecaller_sid_unique'),
        ),
        migrations.AddConstraint(
            model_name='queuecaller',
            constraint=models.CheckConstraint(condition=models.Q(('call_sid__regex', '^CA[0-9a-f]{32}$')), name='queuecaller_sid_format'),
        ),
        migrations.AddConstraint(
            model_name='queuecaller',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__in', ['waiting', 'answered', 'abandoned', 'timed-out'])), name='queuecaller_outcome_valid'),
        ),
        migrations.AddConstraint(
            model_name='queuecaller',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('ended_at__isnull', True), ('outcome', 'waiting'), ('wait_seconds', None)), models.Q(models.Q(('outcome', 'waiting'), _negated=True), ('ended_at__gte', models.F('arrived_at')), ('wait_seconds__isnull', False)), _connector='OR'), name='queuecaller_ended_has_wait'),
        ),
        migrations.AddConstraint(
            model_name='queuecaller',
            constraint=models.CheckConstraint(condition=models.Q(('outcome', 'answered'), ('agent__isnull', True), _connector='OR'), name='queuecaller_agent_only_when_answered'),
        ),
        migrations.AddConstraint(
            model_name='queuemember',
            constraint=models.UniqueConstraint(fields=('queue', 'agent'), name='queuemember_once'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('unanswered_policy__in', ['voicemail', 'forward', 'message'])), name='queue_unanswered_policy_valid'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('forward_to', ''), ('forward_to__regex', '^\\+[1-9][0-9]{1,14}$'), _connector='OR'), name='queue_forward_to_e164'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('unanswered_policy', 'forward'), _negated=True), models.Q(('forward_to', ''), _negated=True), _connector='OR'), name='queue_forward_has_number', violation_error_message='The forward policy needs a number to forward to.'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('routing__in', ['longest-idle', 'ring-all'])), name='queue_routing_valid'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('ring_timeout__gte', 5), ('ring_timeout__lte', 600)), name='queue_ring_timeout_range'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('maximum_wait__gte', 10)), name='queue_maximum_wait_range'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(('announce_every__gte', 10)), name='queue_announce_every_range'),
        ),
        migrations.AddConstraint(
            model_name='queueoffer',
            constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('agent',), name='queueoffer_one_ringing_per_agent', violation_error_message='This agent is already being offered a call.'),
        ),
        migrations.AddConstraint(
            model_name='queueoffer',
            constraint=models.CheckConstraint(condition=models.Q(('result__in', ['', 'answered', 'not-answered', 'caller-left', 'expired'])), name='queueoffer_result_valid'),
        ),
        migrations.AddConstraint(
            model_name='queueoffer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_at__isnull', True), ('result', '')), models.Q(('closed_at__isnull', False), models.Q(('result', ''), _negated=True)), _connector='OR'), name='queueoffer_closed_has_result'),
        ),
        migrations.AddConstraint(
            model_name='queueoffer',
            constraint=models.CheckConstraint(condition=models.Q(('expires_at__gt', models.F('offered_at'))), name='queueoffer_expires_after'),
        ),
        migrations.AddIndex(
            model_name='wrapup',
            index=models.Index(fields=['agent', 'ends_at'], name='wrapup_agent_ends_idx'),
        ),
        migrations.AddConstraint(
            model_name='wrapup',
            constraint=models.CheckConstraint(condition=models.Q(('ends_at__gte', models.F('started_at'))), name='wrapup_ends_after_start'),
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
