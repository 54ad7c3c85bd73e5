"""Families stored before kinds and outcomes existed get them when the database migrates."""

from datetime import UTC, datetime, timedelta

from tests.migrations import migrate

BEFORE = [("calls", "0005_family_kind_and_outcome")]
AFTER = [("calls", "0006_fill_family_facts")]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def leg(Call, number, **fields):
    return Call.objects.create(sid=f"CA{number:032x}", start_time=START, **fields)


def test_stored_families_get_their_kind_outcome_facts_and_who_answered(
    back_to_the_latest_schema,
):
    old_apps = migrate(BEFORE)
    Call = old_apps.get_model("calls", "Call")
    agent = old_apps.get_model("agents", "Agent").objects.create(
        identity="alice",
        user=old_apps.get_model("auth", "User").objects.create(username="alice"),
        twiml_app=old_apps.get_model("agents", "TwimlApp").objects.create(
            sid="AP" + "1f" * 16, friendly_name="Softphone"
        ),
    )
    customer_call = leg(Call, 1, direction="inbound", from_number="+12125550123",
                        to_number="+14155550100", status="completed")  # fmt: skip
    leg(Call, 2, parent=customer_call, direction="outbound-dial", to_number="client:alice",
        from_number="+12125550123", status="completed", agent=agent, duration=60,
        end_time=START + timedelta(seconds=70))  # fmt: skip
    softphone_call = leg(Call, 3, direction="inbound", from_number="client:alice",
                         to_number="", status="completed")  # fmt: skip
    leg(Call, 4, parent=softphone_call, direction="outbound-dial", from_number="+14155550100",
        to_number="+12125550123", status="busy")  # fmt: skip

    facts = migrate(AFTER).get_model("calls", "Call").objects.filter(parent__isnull=True)

    assert sorted(
        facts.values_list("sid", "kind", "dial_result", "child_answer_time", "answered_by")
    ) == [
        (customer_call.sid, "inbound", 3, START + timedelta(seconds=10), agent.id),
        (softphone_call.sid, "outbound", 2, None, None),
    ]
