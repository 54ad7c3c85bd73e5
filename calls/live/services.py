"""The live board's one write: queue a single-call reconcile for each stale leg, once."""

from functools import partial

from django.db import IntegrityError, transaction

from calls import tasks
from calls.models import Call, StaleLegCheck


def stale_legs_queue_reconcile(*, legs: list[Call]) -> list[str]:
    """Queue a single-call reconcile for each leg never queued before; return their SIDs.

    The unique leg of StaleLegCheck makes it once per leg even when several boards poll at
    the same moment: only the poll whose row is inserted queues the task.
    """
    if not legs:
        return []  # the usual poll: no query at all
    already = set(
        StaleLegCheck.objects.filter(call_id__in=[leg.pk for leg in legs]).values_list(
            "call_id", flat=True
        )
    )
    queued = []
    for leg in legs:
        if leg.pk in already:
            continue
        try:
            with transaction.atomic():
                StaleLegCheck.objects.create(call=leg)
                transaction.on_commit(partial(tasks.reconcile_call_enqueue, sid=leg.sid))
        except IntegrityError:
            continue  # another poll queued it first
        queued.append(leg.sid)
    return queued
