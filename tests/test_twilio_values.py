from datetime import UTC, datetime

import pytest

from voiceproject.twilio_ids import client_identity, is_call_sid, parse_twilio_datetime


def test_twilio_dates_parse_to_aware_datetimes():
    assert parse_twilio_datetime("Mon, 23 Nov 2026 18:30:45 +0000") == datetime(
        2026, 11, 23, 18, 30, 45, tzinfo=UTC
    )


def test_empty_twilio_date_is_none():
    assert parse_twilio_datetime("") is None


@pytest.mark.parametrize("value", ["yesterday", "2026-11-23T18:30:45Z", "Mon, 23 Nov 2026 18:30"])
def test_malformed_twilio_date_is_refused(value):
    with pytest.raises(ValueError, match="RFC 2822"):
        parse_twilio_datetime(value)


def test_client_identity_is_read_from_client_addresses_only():
    assert client_identity("client:alice") == "alice"
    assert client_identity("+14155550100") is None
    assert client_identity("client:") is None


def test_call_sids_are_ca_and_32_lowercase_hex_digits():
    assert is_call_sid("CA" + "0f" * 16)
    assert not is_call_sid("CA" + "0F" * 16)
    assert not is_call_sid("AC" + "0f" * 16)
