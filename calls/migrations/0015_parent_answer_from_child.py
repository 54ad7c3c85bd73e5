"""A parent leg's answer time is its first child's answer.

Before, a parent took its answer time from our <Dial> action's request, which says
in-progress and carries no Timestamp, so the time was when the call was over (by our clock).
Twilio sends the parents of our calls (inbound, outbound, internal) no answered callback of
their own, so their answer is the family's first child answer, kept as child_answer_time.
"""

from django.db import migrations
from django.db.models import F, Q

ANSWERED_BY_A_CHILD = ("inbound", "outbound", "internal")


def answer_from_child(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    Call.objects.filter(parent__isnull=True, kind__in=ANSWERED_BY_A_CHILD).filter(
        Q(answer_time__isnull=False) | Q(child_answer_time__isnull=False)
    ).update(answer_time=F("child_answer_time"))


class Migration(migrations.Migration):
    dependencies = [("calls", "0014_supervisors_delete_voicemail")]

    # Backwards, the times stay: the old ones were wrong.
    operations = [migrations.RunPython(answer_from_child, migrations.RunPython.noop)]
