from datetime import UTC, datetime

import pytest

from voiceproject.twilio_ids import (
    agent_identity_on_leg,
    client_address,
    client_identity,
    is_call_sid,
    is_e164,
    is_identity,
    is_sid,
    parse_twilio_count,
    parse_twilio_datetime,
    sid_regex,
)


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


@pytest.mark.parametrize("prefix", ["AC", "AP", "CA", "CR", "PN", "RE", "SK"])
def test_every_known_sid_is_its_prefix_and_32_lowercase_hex_digits(prefix):
    assert is_sid(prefix + "0f" * 16, prefix=prefix)
    assert not is_sid(prefix + "0f" * 15, prefix=prefix)
    assert not is_sid("XX" + "0f" * 16, prefix=prefix)


def test_an_unknown_sid_prefix_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown SID prefix 'ZZ'"):
        sid_regex("ZZ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice_01", True),
        ("a" * 121, True),
        ("a" * 122, False),
        ("alice smith", False),
        ("", False),
    ],
)
def test_client_identities_are_letters_digits_and_underscores_up_to_121(value, expected):
    assert is_identity(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+14155550100", True), ("14155550100", False), ("+1415555010\u0660", False), ("+1", False)],
)
def test_e164_numbers_are_a_plus_and_ascii_digits_of_a_real_number(value, expected):
    assert is_e164(value) is expected


def test_client_addresses_round_trip():
    assert client_identity(client_address("alice")) == "alice"


def test_the_agent_on_a_dial_child_is_the_one_dialled():
    assert (
        agent_identity_on_leg(
            direction="outbound-dial", from_address="client:alice", to_address="client:bob"
        )
        == "bob"
    )
    assert (
        agent_identity_on_leg(
            direction="inbound", from_address="client:alice", to_address="client:bob"
        )
        == "alice"
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("42", 42), ("0", 0), ("-1", None), ("", None), ("-25", None)]
)
def test_twilio_counts_are_whole_numbers_and_negative_means_unknown(value, expected):
    assert parse_twilio_count(value) == expected


@pytest.mark.parametrize("value", ["1.5", "-", "forty", "\u0664\u0662", " 42"])
def test_a_count_that_is_no_whole_number_is_refused(value):
    with pytest.raises(ValueError, match="not a whole number"):
        parse_twilio_count(value)
