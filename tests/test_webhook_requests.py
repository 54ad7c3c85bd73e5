"""Which requests our Twilio webhooks accept: signatures, accounts, fields, sizes, outages."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from calls.deliveries.calls import parse_twilio_callback
from calls.models import Call, CallEvent
from tests.conftest import TEST_AUTH_TOKEN
from tests.twilio_requests import child_callback, post_signed, twilio_signature

pytestmark = pytest.mark.django_db

STATUS_PATH = "/twilio/status/"


def assert_nothing_stored():
    assert (Call.objects.count(), CallEvent.objects.count()) == (0, 0)


def test_signing_helper_matches_twilios_published_vector():
    parameters = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, parameters, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signed_status_callback_is_stored(client):
    response = post_signed(client, STATUS_PATH, child_callback())
    assert (response.status_code, response.content) == (204, b"")
    assert (Call.objects.count(), CallEvent.objects.count()) == (2, 1)


def test_a_signature_over_the_url_with_its_default_port_is_accepted(client):
    """Twilio's own code signs some requests with the port written out (:80, :443)."""
    parameters = child_callback()
    signature = twilio_signature(f"http://testserver:80{STATUS_PATH}", parameters)

    response = client.post(STATUS_PATH, parameters, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 204
    assert CallEvent.objects.count() == 1


def test_a_signature_header_of_any_characters_is_refused_not_an_error(client):
    parameters = child_callback()
    response = client.post(STATUS_PATH, parameters, headers={"X-Twilio-Signature": "é" * 28})
    assert response.status_code == 403
    assert_nothing_stored()


@pytest.mark.parametrize("path", ["/twilio/voice/", "/twilio/voice/fallback/", STATUS_PATH])
@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        twilio_signature("http://testserver/twilio/status/", child_callback(), "other-token"),
    ],
    ids=["missing", "empty", "for another request", "with another auth token"],
)
def test_forged_or_missing_signature_is_refused(client, path, signature):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    response = client.post(path, child_callback(), headers=headers)
    assert response.status_code == 403
    assert_nothing_stored()


def test_signature_over_other_parameters_is_refused(client):
    parameters = child_callback()
    signature = twilio_signature(f"http://testserver{STATUS_PATH}", parameters)
    tampered = {**parameters, "CallStatus": "completed"}
    response = client.post(STATUS_PATH, tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert_nothing_stored()


def test_callback_for_another_account_is_refused(client):
    response = post_signed(client, STATUS_PATH, child_callback(AccountSid="AC" + "9" * 32))
    assert response.status_code == 403
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"CallSid": None}, "CallSid is missing"),
        ({"CallSid": "CA123"}, "CallSid is missing or is not a call SID."),
        ({"ParentCallSid": "PA" + "0" * 32}, "ParentCallSid is not a call SID."),
        ({"AccountSid": "nonsense"}, "AccountSid"),
        ({"CallStatus": "dancing"}, "CallStatus 'dancing' is not a Twilio call status."),
        ({"CallStatus": None}, "CallStatus '' is not"),
        ({"Direction": "sideways"}, "Direction"),
        ({"Timestamp": "yesterday"}, "Timestamp is not an RFC 2822 date."),
        ({"SequenceNumber": "first"}, "SequenceNumber is not a whole number."),
        ({"CallDuration": "-"}, "CallDuration is not a whole number."),
        ({"CallDuration": "12.5"}, "CallDuration is not a whole number."),
        ({"SequenceNumber": "99999999999"}, "SequenceNumber"),
        ({"From": "x" * 256}, "From or To"),
    ],
)
def test_malformed_field_is_refused_with_a_one_line_reason(client, changes, reason):
    response = post_signed(client, STATUS_PATH, child_callback(**changes))
    assert response.status_code == 400
    body = response.content.decode()
    assert reason in body
    assert "\n" not in body
    assert_nothing_stored()


@pytest.mark.parametrize(
    "changes",
    [
        {"CallStatus": "completed", "CallDuration": "-1", "Duration": "-1"},
        {"SequenceNumber": "-1"},
        {"SequenceNumber": "", "CallDuration": "", "Timestamp": "", "ErrorCode": ""},
        {"SipResponseCode": "", "StirVerstat": "TN-Validation-Passed-A", "CallToken": "%7B%7D"},
    ],
)
def test_twilios_unknown_values_and_extra_parameters_are_stored_as_unknown(client, changes):
    """Twilio writes -1 for a count it does not know, and adds parameters as it grows."""
    response = post_signed(client, STATUS_PATH, child_callback(**changes))
    assert response.status_code == 204
    leg = CallEvent.objects.get().call
    assert (leg.status, leg.duration) == (changes.get("CallStatus", "in-progress"), None)
    assert leg.sequence_number in (None, 2)


def test_child_naming_itself_as_parent_is_refused(client):
    parameters = child_callback()
    parameters["ParentCallSid"] = parameters["CallSid"]
    response = post_signed(client, STATUS_PATH, parameters)
    assert (response.status_code, response.content) == (
        400,
        b"ParentCallSid names the call itself.",
    )


def test_oversized_body_is_refused(client):
    response = post_signed(client, STATUS_PATH, child_callback(Padding="x" * 70_000))
    assert response.status_code == 413
    assert_nothing_stored()


def test_a_form_with_too_many_fields_is_refused(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 30
    parameters = child_callback(**{f"Extra{n}": "x" for n in range(40)})

    response = post_signed(client, STATUS_PATH, parameters)

    assert response.status_code == 400
    assert_nothing_stored()


def test_a_body_that_is_not_utf_8_is_read_as_latin_1_and_refused_unsigned(client):
    """As Django reads forms: the bytes are kept, never an error of ours."""
    response = client.post(
        STATUS_PATH,
        b"CallSid=CA\xff\xfe&AccountSid=AC\xe9",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )

    assert response.status_code == 403
    assert_nothing_stored()


def test_webhooks_take_only_post(client):
    assert client.get(STATUS_PATH).status_code == 405


def test_public_base_url_is_what_twilio_signed(client, settings):
    settings.TWILIO_WEBHOOK_BASE_URL = "https://voice.example.com"
    parameters = child_callback()
    assert post_signed(client, STATUS_PATH, parameters).status_code == 403
    signature = twilio_signature(f"https://voice.example.com{STATUS_PATH}", parameters)
    response = client.post(STATUS_PATH, parameters, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_scheme_and_host_count_only_when_trusted(client, settings, trusted):
    if trusted:
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "voice.example.com"]
    parameters = child_callback()
    signature = twilio_signature(f"https://voice.example.com{STATUS_PATH}", parameters)
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "voice.example.com",
    }
    response = client.post(STATUS_PATH, parameters, headers=headers)
    assert response.status_code == (204 if trusted else 403)


def test_validation_switched_off_accepts_unsigned_callbacks_and_warns(client, settings, caplog):
    settings.TWILIO_VALIDATE_SIGNATURES = False
    with caplog.at_level(logging.WARNING, logger="calls.apps"):
        apps.get_app_config("calls").ready()
    assert "TWILIO_VALIDATE_SIGNATURES is off" in caplog.text
    assert client.post(STATUS_PATH, child_callback()).status_code == 204


def test_without_an_auth_token_nothing_is_accepted(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    parameters = child_callback()
    signature = twilio_signature(f"http://testserver{STATUS_PATH}", parameters, TEST_AUTH_TOKEN)
    response = client.post(STATUS_PATH, parameters, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/twilio/voice/", STATUS_PATH])
def test_database_outage_answers_503_so_twilio_retries(client, database_down, path):
    response = post_signed(client, path, child_callback())
    assert response.status_code == 503
    assert response.content == b"The database is unavailable; try again later."


def test_fallback_still_apologises_when_the_database_is_down(client, database_down):
    response = post_signed(client, "/twilio/voice/fallback/", child_callback(ErrorCode="11200"))
    assert response.status_code == 200
    assert b"An error has occurred" in response.content


def test_retry_after_an_outage_is_stored_once(client, database_down):
    parameters = child_callback()
    assert post_signed(client, STATUS_PATH, parameters).status_code == 503
    database_down()
    assert post_signed(client, STATUS_PATH, parameters).status_code == 204
    assert post_signed(client, STATUS_PATH, parameters).status_code == 204
    assert (Call.objects.count(), CallEvent.objects.count()) == (2, 1)


def blocked_backends(watcher) -> list[int]:
    return [
        pid
        for (pid,) in watcher.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    ]


@pytest.mark.django_db(transaction=True)
def test_connection_lost_mid_write_leaves_no_half_written_rows(client):
    """End the database process serving a callback after it wrote the leg, while its event
    waits on the same delivery being inserted by another transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("ends a server process with PostgreSQL's pg_terminate_backend")
    parameters = child_callback()
    parent = Call.objects.create(sid=parameters["ParentCallSid"])
    digest = parse_twilio_callback(parameters, received_at=timezone.now()).delivery_digest
    database = connection.settings_dict
    address = {
        "host": database["HOST"],
        "port": database["PORT"] or 5432,
        "user": database["USER"],
        "dbname": database["NAME"],
    }
    with (
        psycopg.connect(**address) as locker,
        psycopg.connect(**address, autocommit=True) as watcher,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        locker.execute(
            "INSERT INTO calls_callevent (call_id, status, callback_source, parameters,"
            " delivery_digest, received_at) VALUES (%s, '', '', '{}', %s, now())",
            [parent.id, digest],
        )
        pending = pool.submit(post_signed, client, STATUS_PATH, parameters)
        deadline = time.monotonic() + 10
        while not (blocked := blocked_backends(watcher)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert blocked, "the callback never reached the database"
        watcher.execute("SELECT pg_terminate_backend(%s)", blocked)
        assert pending.result(timeout=10).status_code == 503
        locker.rollback()
    assert list(Call.objects.values_list("sid", flat=True)) == [parameters["ParentCallSid"]]
    assert not CallEvent.objects.exists()
