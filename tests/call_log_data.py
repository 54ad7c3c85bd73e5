"""Call families for the call log's tests, built with the factories."""

from datetime import UTC, datetime, timedelta

from calls.models import Call, CallEvent
from tests.factories import CallFactory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def call_family(*, start=START, children=(), **parent) -> Call:
    """A parent leg and its children; `children` holds each child's fields."""
    parent_call = CallFactory(start_time=start, **parent)
    for number, fields in enumerate(children, start=1):
        CallFactory(
            parent=parent_call,
            direction="outbound-dial",
            start_time=start + timedelta(seconds=number) if start else None,
            **fields,
        )
    return parent_call


def callback(call: Call, status: str, sequence_number: int, **parameters) -> CallEvent:
    """A status callback for `call` as the webhook stores it."""
    timestamp = call.start_time + timedelta(seconds=sequence_number)
    form = {
        "CallSid": call.sid,
        "CallStatus": status,
        "SequenceNumber": str(sequence_number),
        "Timestamp": timestamp.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        **parameters,
    }
    return CallEvent.objects.create(
        call=call,
        status=status,
        sequence_number=sequence_number,
        timestamp=timestamp,
        callback_source="call-progress-events",
        parameters=form,
        delivery_digest=f"{call.sid}-{sequence_number}".ljust(64, "0"),
    )
