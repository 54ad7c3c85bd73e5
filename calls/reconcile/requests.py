"""Requests to reconcile one call: the outbox between a person asking and the worker.

A request is stored before its task is handed to the broker and deleted once its run is
recorded, so a broker outage (or a message the broker lost) delays a run but never loses it:
calls.tasks sends what is waiting again.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from calls.models import ReconcileRequest

# A request handed to the broker this long ago whose run is still not recorded is sent
# again: its message was lost, or no worker took it.
RESEND_AFTER = timedelta(hours=1)


def reconcile_requests_add(*, sids: list[str]) -> list[ReconcileRequest]:
    """Request a reconcile of each call not already waiting; return the new requests."""
    added = []
    for sid in sids:
        request, created = ReconcileRequest.objects.get_or_create(call_sid=sid)
        if created:
            added.append(request)
    return added


def reconcile_requests_to_send(*, now: datetime) -> QuerySet[ReconcileRequest]:
    """Requests never handed to the broker, or handed so long ago that they were lost."""
    return ReconcileRequest.objects.filter(
        Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER)
    ).order_by("requested_at", "id")


def reconcile_request_sent(*, request: ReconcileRequest, now: datetime) -> None:
    # By id: once its run is recorded, a new request for the call is another row.
    ReconcileRequest.objects.filter(pk=request.pk).update(sent_at=now)


def reconcile_request_done(*, sid: str) -> None:
    """The run is recorded, succeeded or failed: a new request may be made."""
    ReconcileRequest.objects.filter(call_sid=sid).delete()
