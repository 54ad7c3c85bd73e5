"""Stored start times are Twilio's where a timed delivery or REST gave them."""

from datetime import UTC, datetime

from tests.migrations import migrate

BEFORE = [("calls", "0015_parent_answer_from_child")]
AFTER = [("calls", "0016_start_time_from_twilio")]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_start_is_twilios_unless_only_requests_without_a_timestamp_gave_it(
    back_to_the_latest_schema,
):
    apps = migrate(BEFORE)
    Call, CallEvent = apps.get_model("calls", "Call"), apps.get_model("calls", "CallEvent")
    timed, untimed, from_rest, placeholder = (
        Call.objects.create(sid=f"CA{number:032x}", start_time=START) for number in range(1, 5)
    )
    placeholder.start_time = None
    placeholder.save()
    deliveries = [
        (timed, {"CallStatus": "ringing"}),
        (timed, {"CallStatus": "completed", "Timestamp": "Mon, 02 Nov 2026 09:01:00 +0000"}),
        (untimed, {"CallStatus": "ringing"}),
        (untimed, {"CallStatus": "in-progress", "Timestamp": ""}),
    ]
    for number, (call, parameters) in enumerate(deliveries):
        CallEvent.objects.create(call=call, parameters=parameters, delivery_digest=f"{number:064x}")

    migrated = migrate(AFTER).get_model("calls", "Call").objects

    assert dict(migrated.values_list("sid", "start_time_from_twilio")) == {
        timed.sid: True,
        untimed.sid: False,
        from_rest.sid: True,
        placeholder.sid: False,
    }
