"""gunicorn's settings for the web process, read by a plain `gunicorn voiceproject.wsgi`.

gunicorn loads ./gunicorn.conf.py from the directory it starts in. Command-line options and
GUNICORN_CMD_ARGS override these; WEB_CONCURRENCY and GUNICORN_THREADS size the pool.
"""

import multiprocessing
import os

# Behind the reverse proxy on the same host. The proxy sets X-Forwarded-Proto/-Host.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads: most of a request is spent waiting on PostgreSQL, and a slow CSV export or a
# client on a poor link then holds one thread, not a whole process. One process per core
# keeps memory low; threads give each process concurrency for the waits.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# A CSV export of millions of legs streams for tens of seconds (19 s for a million rows
# measured): give a request two minutes before the worker is presumed stuck.
timeout = 120
# On restart, let requests in flight (an export included) finish.
graceful_timeout = 120
# The proxy reuses its connections to us.
keepalive = 5

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
