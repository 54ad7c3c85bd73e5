"""/metrics for Prometheus: the web processes' counters (voiceproject/metrics.py) and levels
read at scrape time from PostgreSQL and Redis, behind a bearer token or an address list.

Levels are read here, not counted in processes: any process that answers a scrape sees the
same database and broker, so they are right however many processes serve.
"""

import hmac
import logging
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_address

import redis
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, F, Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from agents.constants import Availability
from agents.models import Agent
from calls.models import CallQuality, ReconcileRun
from voiceproject.celery import app as celery_app
from voiceproject.client_address import client_address
from voiceproject.heartbeats import redis_client

logger = logging.getLogger(__name__)

PLAIN = "text/plain; charset=utf-8"


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, to a scraper with the token or from an allowed address."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry()
    registry.register(LevelsCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        # One process (runserver, a test): its own counters are all there are.
        body = generate_latest(REGISTRY) + generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """401 without the right bearer token, 403 from an address not allowed; None to serve.

    With neither METRICS_TOKEN nor METRICS_ALLOWED_ADDRESSES set, nobody is served.
    """
    token = settings.METRICS_TOKEN
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return None
    try:
        address = ip_address(client_address(request))
    except ValueError:
        address = None
    if address is not None and any(
        address in network for network in settings.METRICS_ALLOWED_ADDRESSES
    ):
        return None
    if token:
        response = HttpResponse("Send the metrics bearer token.\n", status=401, content_type=PLAIN)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse("This address may not read the metrics.\n", status=403, content_type=PLAIN)


class LevelsCollector(Collector):
    """What PostgreSQL and Redis hold now; a source that does not answer is reported down
    (voice_metrics_source_up 0) and its metrics left out, never a failed scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "voice_metrics_source_up", "1 when the source answered this scrape.", labels=["source"]
        )
        for source, read in (("database", _database_levels), ("redis", _redis_levels)):
            try:
                yield from list(read())
            except (DatabaseError, redis.RedisError) as error:
                logger.error("Metrics: %s did not answer: %s", source, error)
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
        yield up


def _database_levels() -> Iterator[Metric]:
    agents = GaugeMetricFamily(
        "voice_agents", "Active agents by their stored availability.", labels=["availability"]
    )
    counts = dict(
        Agent.objects.filter(user__is_active=True)
        .values_list("availability")
        .annotate(n=Count("pk"))
        .values_list("availability", "n")
    )
    for availability in Availability.values:
        agents.add_metric([availability], counts.get(availability, 0))
    yield agents

    runs = CounterMetricFamily(
        "voice_reconcile_runs", "Reconciliation runs kept, by kind and outcome.",
        labels=["kind", "outcome"],
    )  # fmt: skip
    fixed = CounterMetricFamily(
        "voice_reconcile_legs_fixed",
        "Call legs reconciliation created or updated, by kind of run.",
        labels=["kind"],
    )
    errors = CounterMetricFamily(
        "voice_reconcile_errors", "Errors reconciliation met, by kind of run.", labels=["kind"]
    )
    last_success = GaugeMetricFamily(
        "voice_reconcile_last_success_timestamp_seconds",
        "When the last successful run of each kind finished (Unix time).",
        labels=["kind"],
    )
    totals = ReconcileRun.objects.values("kind", "outcome").annotate(
        runs=Count("pk"),
        fixed=Sum(F("calls_created") + F("calls_updated")),
        errors=Sum("errors"),
        last=Max("finished_at"),
    )
    fixed_by_kind: Counter[str] = Counter()
    errors_by_kind: Counter[str] = Counter()
    for row in totals:
        runs.add_metric([row["kind"], row["outcome"]], row["runs"])
        fixed_by_kind[row["kind"]] += row["fixed"] or 0
        errors_by_kind[row["kind"]] += row["errors"] or 0
        if row["outcome"] == ReconcileRun.Outcome.SUCCEEDED and row["last"] is not None:
            last_success.add_metric([row["kind"]], row["last"].timestamp())
    for kind in fixed_by_kind:
        fixed.add_metric([kind], fixed_by_kind[kind])
        errors.add_metric([kind], errors_by_kind[kind])
    yield from (runs, fixed, errors, last_success)

    legs = GaugeMetricFamily(
        "voice_call_quality_legs",
        "Legs Voice Insights judged, by verdict (poor, good), over the last day they ended.",
        labels=["verdict"],
    )
    verdicts = dict(
        CallQuality.objects.filter(
            poor__isnull=False, call__end_time__gte=timezone.now() - timedelta(days=1)
        )
        .values_list("poor")
        .annotate(n=Count("pk"))
        .values_list("poor", "n")
    )
    for verdict, poor in (("poor", True), ("good", False)):
        legs.add_metric([verdict], verdicts.get(poor, 0))
    yield legs


def _redis_levels() -> Iterator[Metric]:
    if celery_app.conf.task_always_eager:
        return
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    depth = GaugeMetricFamily(
        "voice_celery_queue_depth", "Tasks waiting in the Celery queue.", labels=["queue"]
    )
    depth.add_metric([queue], redis_client(celery_app.conf.broker_url).llen(queue))
    yield depth
