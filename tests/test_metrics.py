"""/metrics: who may read it, and what it counts (in this process; the production shape's
several processes are in tests/test_production.py)."""

import socket
from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from calls.models import CallQuality, ReconcileRun
from tests.factories import AgentFactory, CallFactory, api_token_header
from tests.twilio_requests import child_callback, post_signed
from voiceproject.celery import app as celery_app

pytestmark = pytest.mark.django_db

TOKEN = "scrape-secret-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Each sample of a scrape by its name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0)


def test_the_bearer_token_reads_the_metrics_without_a_session(client):
    response = client.get("/metrics", headers=BEARER)

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "Set-Cookie" not in response


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"bearer {TOKEN}x", f"Token {TOKEN}", "Bearer é\x00", "Bearer"],
)
def test_a_scraper_without_the_token_is_refused_with_401(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"voice_" not in response.content


def test_an_address_outside_the_allow_list_is_refused_with_403(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = [ip_network("10.0.0.0/8")]

    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 403


def test_an_address_on_the_allow_list_reads_the_metrics_without_a_token(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = [ip_network("10.0.0.0/8")]

    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200


def test_with_neither_a_token_nor_an_allow_list_nobody_reads_the_metrics(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 403


def test_metrics_answer_any_host_as_prometheus_asks_by_address(client):
    response = client.get("/metrics", headers=BEARER, HTTP_HOST="10.0.0.5:8000")

    assert response.status_code == 200


def test_metrics_take_only_get_and_head(client):
    assert client.post("/metrics", headers=BEARER).status_code == 405


def test_webhooks_are_counted_by_endpoint_and_status_refusals_included(client):
    before = scrape(client)

    assert post_signed(client, "/twilio/status/", child_callback()).status_code == 204
    forged = client.post("/twilio/status/", child_callback(), headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403
    after = scrape(client)

    for status in ("204", "403"):
        counted = "voice_webhook_requests_total"
        assert value(after, counted, endpoint="status", status=status) == (
            value(before, counted, endpoint="status", status=status) + 1
        )
    timed = "voice_webhook_duration_seconds_count"
    assert value(after, timed, endpoint="status") == value(before, timed, endpoint="status") + 2


def test_a_webhook_answered_503_in_a_database_outage_is_counted(client, database_down):
    before = value(scrape(client), "voice_webhook_requests_total", endpoint="status", status="503")

    assert post_signed(client, "/twilio/status/", child_callback()).status_code == 503

    after = value(scrape(client), "voice_webhook_requests_total", endpoint="status", status="503")
    assert after == before + 1


def test_a_stored_status_callback_adds_its_lag_from_twilios_timestamp(client):
    before = value(scrape(client), "voice_callback_lag_seconds_count")

    post_signed(client, "/twilio/status/", child_callback())

    assert value(scrape(client), "voice_callback_lag_seconds_count") == before + 1


def test_each_access_token_issued_is_counted(client):
    agent = AgentFactory()
    before = value(scrape(client), "voice_access_tokens_issued_total")

    assert client.get("/api/token/", headers=api_token_header(agent.user)).status_code == 200

    assert value(scrape(client), "voice_access_tokens_issued_total") == before + 1


def test_agents_are_counted_by_availability_including_none(client):
    AgentFactory.create_batch(2, availability="available")
    AgentFactory(availability="away")

    scraped = scrape(client)

    assert value(scraped, "voice_agents", availability="available") == 2
    assert value(scraped, "voice_agents", availability="away") == 1
    assert ("voice_agents", frozenset({("availability", "offline")})) in scraped


def test_reconciliation_runs_legs_fixed_and_errors_come_from_the_kept_runs(client):
    ReconcileRun.objects.create(
        kind="recent", outcome="succeeded", calls_created=2, calls_updated=3
    )
    ReconcileRun.objects.create(kind="recent", outcome="failed", errors=1)

    scraped = scrape(client)

    assert value(scraped, "voice_reconcile_runs_total", kind="recent", outcome="succeeded") == 1
    assert value(scraped, "voice_reconcile_runs_total", kind="recent", outcome="failed") == 1
    assert value(scraped, "voice_reconcile_legs_fixed_total", kind="recent") == 5
    assert value(scraped, "voice_reconcile_errors_total", kind="recent") == 1


def test_a_database_outage_is_reported_as_a_source_down_not_a_failed_scrape(client, database_down):
    response = client.get("/metrics", headers=BEARER)

    assert response.status_code == 200
    scraped = samples(response.content.decode())
    assert value(scraped, "voice_metrics_source_up", source="database") == 0


def test_a_broker_that_does_not_answer_is_reported_as_a_source_down(client, monkeypatch):
    # Celery's broker setting pointed at a closed port, as an outage looks to us.
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{closed_port()}/0")

    scraped = scrape(client)

    assert value(scraped, "voice_metrics_source_up", source="redis") == 0
    assert value(scraped, "voice_metrics_source_up", source="database") == 1
    assert not any(name == "voice_celery_queue_depth" for name, _ in scraped)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_legs_judged_by_voice_insights_in_the_last_day_are_counted_by_verdict(client):
    ended = timezone.now() - timedelta(hours=2)
    for poor in (True, True, False):
        CallQuality.objects.create(
            call=CallFactory(end_time=ended), processing_state="complete", poor=poor
        )
    CallQuality.objects.create(call=CallFactory(end_time=ended), processing_state="")  # not yet
    CallQuality.objects.create(
        call=CallFactory(end_time=ended - timedelta(days=2)), processing_state="complete", poor=True
    )

    scraped = scrape(client)

    assert value(scraped, "voice_call_quality_legs", verdict="poor") == 2
    assert value(scraped, "voice_call_quality_legs", verdict="good") == 1
