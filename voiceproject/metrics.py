"""The counters and histograms the web processes keep as they serve.

prometheus_client's multiprocess mode, when PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py
sets it): each process adds to its own memory-mapped file, a few microseconds and no query on
the hot paths, and /metrics, whichever process answers it, adds up the files of every process,
recycled ones included, so a counter never goes back while the server runs. Levels that the
database or Redis hold are read when Prometheus scrapes (voiceproject/metrics_view.py).
"""

from datetime import datetime

from django.utils import timezone
from prometheus_client import Counter, Histogram

WEBHOOK_REQUESTS = Counter(
    "voice_webhook_requests",
    "Requests to Twilio's webhook URLs, by URL name and HTTP status answered.",
    ["endpoint", "status"],
)
WEBHOOK_DURATION = Histogram(
    "voice_webhook_duration_seconds",
    "Time to answer a request to a Twilio webhook URL, by URL name.",
    ["endpoint"],
    # Twilio gives up on a webhook after 15 s.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
CALLBACK_LAG = Histogram(
    "voice_callback_lag_seconds",
    "From a status callback's Timestamp (whole seconds, Twilio's clock) to its row stored.",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
ACCESS_TOKENS_ISSUED = Counter(
    "voice_access_tokens_issued", "Voice SDK AccessTokens signed for agents."
)


def webhook_request_observe(*, endpoint: str, status: int, seconds: float) -> None:
    WEBHOOK_REQUESTS.labels(endpoint, str(status)).inc()
    WEBHOOK_DURATION.labels(endpoint).observe(seconds)


def callback_lag_observe(*, timestamp: datetime) -> None:
    # A clock behind Twilio's would make it negative; the lowest bucket holds it.
    CALLBACK_LAG.observe(max((timezone.now() - timestamp).total_seconds(), 0))


def access_token_issued() -> None:
    ACCESS_TOKENS_ISSUED.inc()
