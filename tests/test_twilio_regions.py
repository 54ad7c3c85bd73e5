"""The REST client targets the API key's region and edge; invalid pairs stop start-up."""

import pytest

from voiceproject.twilio_regions import (
    REGIONS,
    InvalidRegionEdge,
    region_edge_validated,
    rest_api_host,
)
from voiceproject.twilio_rest import is_twilio_host_url, twilio_rest_client

CALLS_URL = "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json"
VALID_PAIRS = [(region.name, edge) for region in REGIONS.values() for edge in region.edges]


@pytest.fixture
def region_settings(settings):
    settings.TWILIO_API_BASE_URL = ""

    def use(region: str, edge: str):
        settings.TWILIO_REGION, settings.TWILIO_EDGE = region_edge_validated(
            region=region, edge=edge
        )
        return twilio_rest_client()

    return use


@pytest.mark.parametrize(("region", "edge"), VALID_PAIRS)
def test_each_valid_pair_sends_requests_to_its_regional_host(region_settings, region, edge):
    client = region_settings(region, edge)

    assert client.get_hostname(CALLS_URL) == (
        f"https://api.{edge}.{region}.twilio.com/2010-04-01/Accounts/AC123/Calls.json"
    )
    assert rest_api_host(region=region, edge=edge) == f"api.{edge}.{region}.twilio.com"


@pytest.mark.parametrize(
    ("region", "host"),
    [("ie1", "api.dublin.ie1.twilio.com"), ("au1", "api.sydney.au1.twilio.com")],
)
def test_a_region_alone_goes_through_its_own_edge(region_settings, region, host):
    client = region_settings(region, "")

    assert client.get_hostname(CALLS_URL) == CALLS_URL.replace("api.twilio.com", host)


def test_no_region_means_the_global_us1_host(region_settings):
    assert region_settings("", "").get_hostname(CALLS_URL) == CALLS_URL


def test_an_edge_alone_means_us1(region_settings):
    client = region_settings("", "tokyo")

    assert client.get_hostname(CALLS_URL).startswith("https://api.tokyo.us1.twilio.com/")


def test_chat_push_credentials_follow_the_region_too(region_settings):
    client = region_settings("au1", "")

    assert client.get_hostname("https://chat.twilio.com/v2/Credentials") == (
        "https://chat.sydney.au1.twilio.com/v2/Credentials"
    )


def test_api_base_url_overrides_every_region_for_a_local_fake(settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.TWILIO_REGION, settings.TWILIO_EDGE = "ie1", "dublin"

    client = twilio_rest_client()

    assert client.api.base_url == client.chat.base_url == "http://127.0.0.1:9"
    assert client.get_hostname("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"


@pytest.mark.parametrize(
    ("region", "edge", "message"),
    [
        ("eu1", "", "TWILIO_REGION must be one of us1, ie1, au1; got 'eu1'."),
        ("ie1", "sydney", "TWILIO_EDGE 'sydney' does not reach region ie1; use one of dublin."),
        ("au1", "roaming", "TWILIO_EDGE 'roaming' does not reach region au1"),
    ],
)
def test_an_invalid_pair_is_refused_naming_the_valid_ones(region, edge, message):
    with pytest.raises(InvalidRegionEdge, match=message):
        region_edge_validated(region=region, edge=edge)


@pytest.mark.parametrize(
    ("url", "is_twilios"),
    [
        ("https://api.twilio.com/2010-04-01/x.mp3", True),
        ("https://api.dublin.ie1.twilio.com/x.mp3", True),
        ("https://API.Twilio.com./x.mp3", True),
        ("http://api.twilio.com/x.mp3", False),
        ("https://api.twilio.com.example.net/x.mp3", False),
        ("https://eviltwilio.com/x.mp3", False),
        ("https://api.twilio.com@example.net/x.mp3", False),
        ("https://example.net\\@api.twilio.com/x.mp3", False),
        ("https://s3.amazonaws.com/x.mp3", False),
        ("http://127.0.0.1:8080/x.mp3", True),
        ("http://127.0.0.1:8081/x.mp3", False),
        ("https://127.0.0.1:8080/x.mp3", False),
    ],
)
def test_only_twilios_hosts_and_the_configured_api_base_are_twilios(settings, url, is_twilios):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:8080"
    assert is_twilio_host_url(url) is is_twilios
