"""gunicorn's settings for the web process, read by a plain `gunicorn voiceproject.wsgi`.

gunicorn loads ./gunicorn.conf.py from the directory it starts in. Command-line options and
GUNICORN_CMD_ARGS override these; WEB_CONCURRENCY and GUNICORN_THREADS size the pool.
"""

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from voiceproject.environment import env_bool
from voiceproject.startup import exit_with_configuration_error

# Behind the reverse proxy on the same host. The proxy sets X-Forwarded-Proto/-Host.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# gunicorn itself turns X-Forwarded-Proto into the request's scheme for clients in this list
# (loopback by default). Trust it only when Django does (TRUST_X_FORWARDED_PROTO): otherwise a
# same-host proxy that passed the header through would change the scheme that signatures are
# checked on and redirects are built with. FORWARDED_ALLOW_IPS still names the proxies then.
try:
    if not env_bool("TRUST_X_FORWARDED_PROTO", default=False):
        forwarded_allow_ips = ""
except ImproperlyConfigured as error:
    exit_with_configuration_error(error)

# Threads: most of a request is spent waiting on PostgreSQL or on its reader, and a slow one
# then holds one thread, not a whole process. One process per core keeps memory low; threads
# give each process concurrency for the waits. 16 per process, of which streamed answers (CSV
# exports, recordings' audio) take at most STREAMS_PER_PROCESS (8) and one user at most
# STREAMS_PER_USER (4) across all processes (voiceproject/streams.py): the other threads stay
# free for Twilio's webhooks, which must answer within 15 s, and the softphones' token
# renewals. Each thread may hold a PostgreSQL connection for CONN_MAX_AGE.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 16))

# With gthread workers this restarts a process whose main loop stops answering for two
# minutes; it never ends a request. Streamed answers end at STREAM_TIME_LIMIT, or when their
# reader takes more than 30 s for one chunk (voiceproject/streams.py).
timeout = 120
# On restart, let requests in flight (an export included) finish.
graceful_timeout = 120
# The proxy reuses its connections to us.
keepalive = 5

# Requests one kept-alive connection carries before we close it, as nginx's
# keepalive_requests and Apache's MaxKeepAliveRequests do (not a gunicorn setting: the
# pre_request hook below applies it). The processes accept from one shared socket, and a burst
# of new connections (a proxy's pool refilling after a quiet spell, a load test) can all land
# on one of them, which keeps them as long as they stay busy while the other core idles: one
# 4-second run in twelve at 16 connections (1,552 tokens/s against 2,712 to 3,421). Closed
# after this many requests, the client reconnects and the idle process, free to accept at
# once, takes it, so the spread mends itself within a second or two (none in twelve).
KEEPALIVE_REQUESTS = 100

# Recycle processes now and then so that a slow leak can never grow without bound.
max_requests = 100_000
max_requests_jitter = 500

# Errors to stderr, for journald or the container runtime; the proxy logs each request.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# systemd signals manage the server (HUP reloads); without this, gunicorn 24+ opens one
# control socket per user (~/.gunicorn/gunicorn.ctl), which a second server on the host
# (another deployment, a test, a benchmark) would contend for.
control_socket_disable = True


def pre_request(worker, req):
    """gunicorn's own hook (a debug line a request), and the end of a connection that carried
    KEEPALIVE_REQUESTS requests: this answer says `Connection: close`."""
    worker.log.debug("%s %s", req.method, req.path)
    if req.req_number >= KEEPALIVE_REQUESTS:
        req.must_close = True


def on_starting(server):
    """gunicorn's own hook: refuse to start, in the master, when a setting or a serving check
    fails, with one line per problem (voiceproject/startup.py); then empty the metrics' files.

    In a separate process: the master must not load Django, or the workers it starts after a
    reload would inherit the old code. In a worker the same refusal would only be restarted,
    again and again.
    """
    checked = subprocess.run([sys.executable, "-m", "voiceproject.startup"], check=False)
    if checked.returncode:
        sys.exit(checked.returncode)
    prepare_metrics_directory()


# Prometheus' counters (voiceproject/metrics.py): each worker process writes its own files in
# this directory and /metrics adds up all of them, so the counts are the server's, whichever
# process answers the scrape. Set in the master before it starts any worker, which inherits
# it; a new directory for each server unless PROMETHEUS_MULTIPROC_DIR names one.
made_metrics_directory = ""


def prepare_metrics_directory():
    """Name the metrics' directory, or empty the one named: counts start at zero with the
    server (a reload, HUP, keeps them)."""
    global made_metrics_directory
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made_metrics_directory = tempfile.mkdtemp(prefix="voice-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_metrics_directory
    for counts in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        counts.unlink()


def on_exit(server):
    """gunicorn's own hook: remove the metrics' directory if this file made it."""
    if made_metrics_directory:
        shutil.rmtree(made_metrics_directory, ignore_errors=True)
