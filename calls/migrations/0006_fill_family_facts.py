"""Give the families stored before kinds and outcomes existed the facts the writer now keeps
on their parents, as the writer would have (calls.family_facts holds the rules)."""

from collections import defaultdict

from django.db import migrations

from calls.family_facts import (
    dial_result_of_status,
    kind_seen_from_child,
    leg_answer_time,
    parent_kind,
)

BATCH = 2000
ANSWERED = ("in-progress", "completed")


def _child_answer_time(child):
    if child.status not in ANSWERED:
        return None
    if child.answer_time is not None:
        return child.answer_time
    if child.status == "in-progress":
        return child.start_time
    return leg_answer_time(status=child.status, at=child.end_time, duration=child.duration)


def _fill(parent, children):
    parent.kind = parent_kind(
        direction=parent.direction, from_address=parent.from_number, to_address=parent.to_number
    )
    parent.dial_result = 0
    parent.child_answer_time = None
    parent.answered_by_id = None
    for child in children:
        parent.kind = parent.kind or kind_seen_from_child(
            from_address=child.from_number, to_address=child.to_number
        )
        parent.dial_result = max(parent.dial_result, dial_result_of_status(child.status))
        answered_at = _child_answer_time(child)
        if answered_at is not None and (
            parent.child_answer_time is None or answered_at < parent.child_answer_time
        ):
            parent.child_answer_time = answered_at
            parent.answered_by_id = child.agent_id


def fill_family_facts(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    leg_fields = ("direction", "from_number", "to_number", "status", "agent_id")
    times = ("start_time", "answer_time", "end_time", "duration")
    last_id = 0
    while True:
        parents = list(
            Call.objects.filter(parent__isnull=True, id__gt=last_id)
            .only(*leg_fields, *times)
            .order_by("id")[:BATCH]
        )
        if not parents:
            return
        last_id = parents[-1].id
        children = defaultdict(list)
        rows = Call.objects.filter(parent_id__in=[parent.id for parent in parents])
        for child in rows.only("parent_id", *leg_fields, *times).order_by("id"):
            children[child.parent_id].append(child)
        for parent in parents:
            _fill(parent, children[parent.id])
        Call.objects.bulk_update(
            parents, ["kind", "dial_result", "child_answer_time", "answered_by"]
        )


class Migration(migrations.Migration):
    dependencies = [("calls", "0005_family_kind_and_outcome")]

    operations = [migrations.RunPython(fill_family_facts, migrations.RunPython.noop)]
