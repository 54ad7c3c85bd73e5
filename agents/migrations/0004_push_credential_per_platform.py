"""Split the TwiML App's one push credential into an APN (iOS) and an FCM (Android) one.

The old credential's platform is not recorded anywhere, so it is copied into both fields:
nothing a supervisor entered is lost, and `manage.py twilio_doctor` then names the field
whose credential is of the wrong type, to be cleared in the admin.
"""

import django.core.validators
from django.db import migrations, models

PUSH_SID_VALIDATOR = django.core.validators.RegexValidator(
    code="invalid_sid",
    message="A push credential SID is 'CR' followed by 32 lowercase hex digits.",
    regex="\\ACR[0-9a-f]{32}\\Z",
)


def copy_push_credential_to_both_platforms(apps, schema_editor):
    TwimlApp = apps.get_model("agents", "TwimlApp")
    TwimlApp.objects.exclude(push_credential_sid="").update(
        apn_credential_sid=models.F("push_credential_sid"),
        fcm_credential_sid=models.F("push_credential_sid"),
    )


def keep_one_push_credential(apps, schema_editor):
    TwimlApp = apps.get_model("agents", "TwimlApp")
    for app in TwimlApp.objects.exclude(apn_credential_sid="", fcm_credential_sid=""):
        app.push_credential_sid = app.apn_credential_sid or app.fcm_credential_sid
        app.save(update_fields=["push_credential_sid"])


class Migration(migrations.Migration):

    dependencies = [
        ("agents", "0003_identity_constraint_from_twilio_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="twimlapp",
            name="apn_credential_sid",
            field=models.CharField(
                blank=True,
                help_text="The APNs (VoIP) push credential iOS apps receive calls with (CR…).",
                max_length=34,
                validators=[PUSH_SID_VALIDATOR],
                verbose_name="APN push credential SID",
            ),
        ),
        migrations.AddField(
            model_name="twimlapp",
            name="fcm_credential_sid",
            field=models.CharField(
                blank=True,
                help_text="The FCM push credential Android apps receive calls with (CR…).",
                max_length=34,
                validators=[PUSH_SID_VALIDATOR],
                verbose_name="FCM push credential SID",
            ),
        ),
        migrations.RunPython(copy_push_credential_to_both_platforms, keep_one_push_credential),
        migrations.RemoveConstraint(
            model_name="twimlapp",
            name="twimlapp_push_credential_sid_format",
        ),
        migrations.RemoveField(
            model_name="twimlapp",
            name="push_credential_sid",
        ),
        migrations.AddConstraint(
            model_name="twimlapp",
            constraint=models.CheckConstraint(
                condition=models.Q(("apn_credential_sid", ""), ("apn_credential_sid__regex", "^CR[0-9a-f]{32}$"), _connector="OR"),
                name="twimlapp_apn_credential_sid_format",
            ),
        ),
        migrations.AddConstraint(
            model_name="twimlapp",
            constraint=models.CheckConstraint(
                condition=models.Q(("fcm_credential_sid", ""), ("fcm_credential_sid__regex", "^CR[0-9a-f]{32}$"), _connector="OR"),
                name="twimlapp_fcm_credential_sid_format",
            ),
        ),
    ]
