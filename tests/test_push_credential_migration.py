"""The split of a TwiML App's one push credential into an APN and an FCM one loses nothing."""

from tests.migrations import migrate

BEFORE = [("agents", "0003_identity_constraint_from_twilio_ids")]
AFTER = [("agents", "0004_push_credential_per_platform")]
PUSH_SID = "CR" + "9e" * 16


def test_the_old_push_credential_is_kept_for_both_platforms_and_comes_back(
    back_to_the_latest_schema,
):
    old_apps = migrate(BEFORE)
    old_apps.get_model("agents", "TwimlApp").objects.create(
        sid="AP" + "1f" * 16, friendly_name="Mobile", push_credential_sid=PUSH_SID
    )
    old_apps.get_model("agents", "TwimlApp").objects.create(
        sid="AP" + "2f" * 16, friendly_name="Browsers only"
    )

    new_apps = migrate(AFTER)
    apps_now = list(new_apps.get_model("agents", "TwimlApp").objects.order_by("friendly_name"))
    reverted = migrate(BEFORE).get_model("agents", "TwimlApp").objects

    assert [(app.apn_credential_sid, app.fcm_credential_sid) for app in apps_now] == [
        ("", ""),
        (PUSH_SID, PUSH_SID),
    ]
    assert reverted.get(friendly_name="Mobile").push_credential_sid == PUSH_SID
