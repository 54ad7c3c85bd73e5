"""Parents stored with their <Dial> action's time as their answer get their child's answer."""

from datetime import UTC, datetime, timedelta

from tests.migrations import migrate

BEFORE = [("calls", "0014_supervisors_delete_voicemail")]
AFTER = [("calls", "0015_parent_answer_from_child")]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DIAL_ACTION_RECEIVED = START + timedelta(seconds=80, microseconds=412_000)


def test_a_parents_answer_becomes_its_childs_and_a_missed_call_has_none(
    back_to_the_latest_schema,
):
    Call = migrate(BEFORE).get_model("calls", "Call")
    answered = Call.objects.create(sid=f"CA{1:032x}", kind="inbound", start_time=START,
                                   answer_time=DIAL_ACTION_RECEIVED,
                                   child_answer_time=START + timedelta(seconds=7))  # fmt: skip
    missed = Call.objects.create(sid=f"CA{2:032x}", kind="inbound", start_time=START,
                                 answer_time=DIAL_ACTION_RECEIVED)  # fmt: skip
    api_call = Call.objects.create(sid=f"CA{3:032x}", kind="other", start_time=START,
                                   answer_time=START + timedelta(seconds=3))  # fmt: skip

    migrated = migrate(AFTER).get_model("calls", "Call").objects

    assert sorted(migrated.values_list("sid", "answer_time")) == [
        (answered.sid, START + timedelta(seconds=7)),
        (missed.sid, None),
        (api_call.sid, START + timedelta(seconds=3)),
    ]
