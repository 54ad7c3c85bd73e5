"""Webhooks signed over a JSON body, and an Auth Token rotation that never refuses one that
Twilio signed."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.doctor import Level, twilio_doctor
from calls.models import Call, CallEvent
from tests.conftest import TEST_AUTH_TOKEN
from tests.twilio_account import configured_account
from tests.twilio_requests import child_callback, post_signed
from twilio_fakes.signing import twilio_json_signature

pytestmark = pytest.mark.django_db

STATUS_PATH = "/twilio/status/"
JSON_URL = f"http://testserver{STATUS_PATH}"


def assert_nothing_stored():
    assert (Call.objects.count(), CallEvent.objects.count()) == (0, 0)


def post_json(client, url: str, body: str, signature: str):
    path = url.removeprefix("http://testserver")
    return client.post(
        path, body, content_type="application/json", headers={"X-Twilio-Signature": signature}
    )


def test_a_json_callback_signed_over_its_body_hash_is_stored(client):
    body = json.dumps(child_callback())
    url, signature = twilio_json_signature(JSON_URL, body, TEST_AUTH_TOKEN)

    response = post_json(client, url, body, signature)

    assert response.status_code == 204
    assert (Call.objects.count(), CallEvent.objects.count()) == (2, 1)


def test_a_json_body_altered_after_signing_is_refused(client):
    body = json.dumps(child_callback())
    url, signature = twilio_json_signature(JSON_URL, body, TEST_AUTH_TOKEN)

    response = post_json(client, url, body.replace("in-progress", "completed"), signature)

    assert response.status_code == 403
    assert_nothing_stored()


def test_a_json_body_with_a_wrong_body_hash_is_refused(client):
    body = json.dumps(child_callback())
    url, signature = twilio_json_signature(JSON_URL, json.dumps({"other": "body"}), TEST_AUTH_TOKEN)

    response = post_json(client, url, body, signature)

    assert response.status_code == 403
    assert_nothing_stored()


def test_a_json_body_without_a_body_hash_is_refused(client):
    body = json.dumps(child_callback())
    _, signature = twilio_json_signature(JSON_URL, body, TEST_AUTH_TOKEN)

    response = post_json(client, JSON_URL, body, signature)

    assert response.status_code == 403
    assert_nothing_stored()


@pytest.mark.parametrize("body", ["[1, 2]", '{"CallSid": {"nested": 1}}', "{not json"])
def test_a_signed_json_body_that_is_not_an_object_of_values_is_a_400(client, body):
    url, signature = twilio_json_signature(JSON_URL, body, TEST_AUTH_TOKEN)

    response = post_json(client, url, body, signature)

    assert response.status_code == 400
    assert_nothing_stored()


def run_command(*arguments: str) -> str:
    output = StringIO()
    call_command("twilio_auth_token", *arguments, stdout=output)
    return output.getvalue()


def accepted(client, auth_token: str) -> bool:
    """Whether a status callback signed with auth_token is taken (204) or refused (403)."""
    status = post_signed(client, STATUS_PATH, child_callback(), auth_token).status_code
    assert status in (204, 403)
    return status == 204


def test_every_step_of_a_rotation_accepts_what_twilio_signs_with(client, settings, fake_twilio):
    old = TEST_AUTH_TOKEN
    assert accepted(client, fake_twilio.auth_token)

    # 1. Twilio makes the secondary; it prints the token, and Twilio still signs with the old.
    output = run_command("create-secondary")
    [new] = re.findall(r"TWILIO_AUTH_TOKEN_SECONDARY=(\w+)", output)
    assert new == fake_twilio.secondary_auth_token
    assert fake_twilio.auth_token == old
    assert (accepted(client, old), accepted(client, new)) == (True, False)

    # 2. The operator deploys it as the secondary: both pass.
    settings.TWILIO_AUTH_TOKEN_SECONDARY = new
    assert (accepted(client, old), accepted(client, new)) == (True, True)

    # 3. Promoted: Twilio signs with the new token, which the deployed settings accept.
    run_command("promote")
    assert fake_twilio.auth_token == new
    assert (accepted(client, old), accepted(client, new)) == (True, True)

    # 4. The operator makes the new token the primary and drops the old.
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_AUTH_TOKEN_SECONDARY = new, ""
    assert (accepted(client, old), accepted(client, new)) == (False, True)


def test_promote_is_refused_until_the_secondary_is_deployed(settings, fake_twilio):
    run_command("create-secondary")

    with pytest.raises(CommandError, match="TWILIO_AUTH_TOKEN_SECONDARY is not set"):
        run_command("promote")

    assert fake_twilio.auth_token == TEST_AUTH_TOKEN
    assert fake_twilio.secondary_auth_token


def test_promote_is_refused_when_the_deployed_secondary_is_not_twilios(settings, fake_twilio):
    fake_twilio.create_secondary_auth_token()
    settings.TWILIO_AUTH_TOKEN_SECONDARY = "a-token-copied-wrongly-0123456789"

    with pytest.raises(CommandError, match="Twilio refuses TWILIO_AUTH_TOKEN_SECONDARY"):
        run_command("promote")

    assert fake_twilio.auth_token == TEST_AUTH_TOKEN


def test_only_creating_the_secondary_prints_a_secret(settings, fake_twilio):
    new = fake_twilio.create_secondary_auth_token()
    settings.TWILIO_AUTH_TOKEN_SECONDARY = new

    outputs = [run_command(), run_command("promote"), run_command()]

    for output in outputs:
        assert TEST_AUTH_TOKEN not in output
        assert new not in output


def test_delete_secondary_abandons_a_rotation(fake_twilio):
    secondary = fake_twilio.create_secondary_auth_token()

    run_command("delete-secondary")

    assert fake_twilio.secondary_auth_token is None
    assert (fake_twilio.account_sid, secondary) not in fake_twilio.credentials


def test_a_forged_signature_is_refused_during_a_rotation_with_nothing_stored(client, settings):
    settings.TWILIO_AUTH_TOKEN_SECONDARY = "the-new-auth-token-0123456789abc"

    response = post_signed(client, STATUS_PATH, child_callback(), "a-token-nobody-has")

    assert response.status_code == 403
    assert_nothing_stored()


def signing_finding() -> tuple[Level, str]:
    [finding] = [found for found in twilio_doctor() if found.check == "Auth Token"]
    return finding.level, finding.message


def test_doctor_says_twilio_signs_with_the_primary_setting(settings, fake_twilio):
    configured_account(fake_twilio, settings)

    assert signing_finding() == (Level.OK, "Twilio signs webhooks with TWILIO_AUTH_TOKEN.")


def test_doctor_says_twilio_signs_with_the_secondary_setting_once_promoted(settings, fake_twilio):
    configured_account(fake_twilio, settings)
    settings.TWILIO_AUTH_TOKEN_SECONDARY = fake_twilio.create_secondary_auth_token()
    fake_twilio.promote_secondary_auth_token()

    level, message = signing_finding()

    assert level is Level.WARN
    assert message.startswith("Twilio signs webhooks with TWILIO_AUTH_TOKEN_SECONDARY")
    assert settings.TWILIO_AUTH_TOKEN_SECONDARY not in message


def test_doctor_fails_when_twilio_signs_with_neither_setting(settings, fake_twilio):
    configured_account(fake_twilio, settings)
    settings.TWILIO_AUTH_TOKEN = "a-token-from-another-account-0000"

    level, message = signing_finding()

    assert level is Level.FAIL
    assert "every webhook is refused with 403" in message
