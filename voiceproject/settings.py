"""Settings for voiceproject, read from the environment (see the README for every variable).

Local defaults need nothing: SQLite, tasks run in-process, DEBUG on. Production sets DEBUG=0,
SECRET_KEY and a real DATABASE_URL; HTTPS is then enforced unless HTTPS_ONLY=0.
"""

from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
import phonenumbers
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from voiceproject.environment import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_sid,
    env_str,
    env_url,
)
from voiceproject.heartbeats import BEAT_HEARTBEAT_INTERVAL
from voiceproject.time_zones import TIME_ZONE_NAMES
from voiceproject.twilio_regions import InvalidRegionEdge, region_edge_validated

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

if not env_str("SECRET_KEY") and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
SECRET_KEY = env_str("SECRET_KEY", default="django-insecure-local-development-only")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# With DEBUG off, `check --deploy` and the web server refuse unsafe settings (signatures off,
# ALLOWED_HOSTS=*, a weak SECRET_KEY, an http:// public URL, no Redis) unless this lists the
# risk by name, e.g. ALLOW_UNSAFE=no-redis,plain-http-url (voiceproject/checks.py).
ALLOW_UNSAFE = env_list("ALLOW_UNSAFE", default=[], pattern=r"[a-z-]+")
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", default=[], pattern=r"https?://(\*\.)?[^/?#@\s]+"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "voiceproject",
    # API docs: Swagger UI served from our static files, never a CDN.
    "drf_spectacular_sidecar",
    "agents",
    "calls",
    "tokens",
    "presence",
    "inbound",
]
if DEBUG:
    # Demo data only: seed_demo never exists on a production server.
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    # First, to time all the rest; it counts Twilio's webhooks only.
    "voiceproject.middleware.webhook_metrics",
    "voiceproject.middleware.head_answered_without_body",
    # Before anything reads the Host or redirects: load balancers ask by IP address, over HTTP.
    "voiceproject.middleware.health_checks_for_any_host",
    "voiceproject.middleware.refuse_nul_bytes",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agents.user_time_zone.user_time_zone_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]
# The hot paths, by URL name, and the middleware each runs (voiceproject/handlers.py serves
# them with these lists instead of MIDDLEWARE): MIDDLEWARE without what only pages use, so
# that a check added to MIDDLEWARE applies to them too. Kept: SecurityMiddleware (the HTTPS
# redirect, its headers), CommonMiddleware (ALLOWED_HOSTS, refused user agents). Webhooks
# are signed, CSRF-exempt form posts answered with TwiML or 204: no session, messages,
# static files, page to frame or to guard with a Content-Security-Policy, login to lock
# out, or user's time zone to look up. The AccessToken endpoint answers JSON to a device
# token or a browser's session, so it keeps the session and the lazy user; DRF checks CSRF
# itself for a session's POST.
PAGE_MIDDLEWARE = [
    "voiceproject.middleware.health_checks_for_any_host",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "agents.user_time_zone.user_time_zone_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]
SESSION_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
WEBHOOK_MIDDLEWARE = [
    name for name in MIDDLEWARE if name not in PAGE_MIDDLEWARE + SESSION_MIDDLEWARE
]
HOT_PATH_MIDDLEWARE = {
    "webhooks:voice": WEBHOOK_MIDDLEWARE,
    "webhooks:voice-fallback": WEBHOOK_MIDDLEWARE,
    "webhooks:status": WEBHOOK_MIDDLEWARE,
    "webhooks:dial-action": WEBHOOK_MIDDLEWARE,
    "webhooks:voicemail-done": WEBHOOK_MIDDLEWARE,
    "webhooks:menu": WEBHOOK_MIDDLEWARE,
    "webhooks:queue-wait": WEBHOOK_MIDDLEWARE,
    "webhooks:recording": WEBHOOK_MIDDLEWARE,
    "webhooks:debugger": WEBHOOK_MIDDLEWARE,
    "webhooks:error-events": WEBHOOK_MIDDLEWARE,
    "webhooks:conference": WEBHOOK_MIDDLEWARE,
    "api-access-token": [name for name in MIDDLEWARE if name not in PAGE_MIDDLEWARE],
}
# A request to these hot paths that sends an API token (`Authorization: Token <key>`, a
# device's) is decided by that token alone: DRF's TokenAuthentication authenticates or refuses
# it and never falls back to the session. So it skips the session and the lazy user as well.
API_TOKEN_HOT_PATH_MIDDLEWARE = {"api-access-token": WEBHOOK_MIDDLEWARE}

# django-axes first: it refuses a locked-out username or address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "voiceproject.urls"
WSGI_APPLICATION = "voiceproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file by default, PostgreSQL otherwise.
DATABASE_URL = env_url(
    "DATABASE_URL",
    schemes=["sqlite", "postgres", "postgresql"],
    host_required=False,
    default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
)
if DATABASE_URL.startswith("sqlite:"):
    # Writers queue for the lock instead of failing at once with "database is locked".
    DATABASE_OPTIONS: dict[str, object] = {
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    }
    # The statistics' covering indexes (INCLUDE columns, calls.Call) are for PostgreSQL's
    # index-only scans; SQLite builds them as plain indexes on their keys, which still serve.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASE_OPTIONS = {
        "CONN_MAX_AGE": env_int("CONN_MAX_AGE", default=60),
        # A kept connection is checked before a request reuses it (one round trip, on the
        # first query of the request): without the check, a connection the database dropped
        # (a restart, a failover) fails the next request of every thread that held one.
        "CONN_HEALTH_CHECKS": env_bool("CONN_HEALTH_CHECKS", default=True),
        # psycopg prepares statements on their first run, but only those sent with server-side
        # binding: the hot paths' few (voiceproject.prepared_statements). Django's own queries
        # bind on the client and are never prepared.
        "OPTIONS": {"prepare_threshold": 0},
    }
DATABASES = {"default": {**environ.Env.db_url_config(DATABASE_URL), **DATABASE_OPTIONS}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_choice("TIME_ZONE", default="UTC", choices=TIME_ZONE_NAMES)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `manage.py collectstatic` puts the files served with DEBUG off (voiceproject/checks.py
# refuses to serve without them).
STATIC_ROOT = Path(env_str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "login"
# The proxies in front of the server (addresses or networks, e.g. 127.0.0.1,10.0.0.0/8): a
# request from one of them is counted against the client address it names in X-Forwarded-For
# (voiceproject/client_address.py). From any other peer that header is never read.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
# Who may read /metrics: a scraper sending `Authorization: Bearer <METRICS_TOKEN>`, or any
# client from these addresses or networks (as client_address places it). Neither set: nobody.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_ADDRESSES = env_networks("METRICS_ALLOWED_ADDRESSES")
# Password guessing (django-axes, on /login/, /admin/login/ and POST /api/auth/token/): this
# many failures for one username from one client address lock that username out from that
# address for LOGIN_LOCKOUT_MINUTES (a 429), the right password included; the user still logs
# in from anywhere else. LOGIN_ADDRESS_FAILURE_LIMIT failures from one address, whatever the
# usernames, lock the address out. Attempts are rows in the database, so supervisors see and
# lift lockouts in the admin (voiceproject/lockout.py).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=10, minimum=1, maximum=1000)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int(
    "LOGIN_ADDRESS_FAILURE_LIMIT", default=100, minimum=1, maximum=100_000
)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_int("LOGIN_LOCKOUT_MINUTES", default=15, minimum=1, maximum=7 * 24 * 60)
)
# In this order: voiceproject.lockout.LoginFailureHandler reads the counts so.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "voiceproject.lockout.LoginFailureHandler"
AXES_CLIENT_IP_CALLABLE = "voiceproject.client_address.client_address"
# Failures count until the lockout window passes, even after a success: otherwise logging
# in to any account from an address would wipe the count of guesses at another.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "voiceproject.lockout.login_lockout_response"
# Which device logins the API keeps (tokens app): each token lives this long from its creation
# (a fixed expiry: checking it adds nothing to the request, extending it would add a write).
API_TOKEN_TTL = env_int(
    "API_TOKEN_TTL", default=30 * 24 * 60 * 60, minimum=60, maximum=365 * 24 * 60 * 60
)
# How many device logins one user keeps: a new one beyond ends the oldest (tokens app).
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", default=20, minimum=1, maximum=1000)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# HTTPS. On by default in production; HTTPS_ONLY=0 for a plain-HTTP server behind a proxy that
# redirects by itself, or on loopback.
HTTPS_ONLY = env_bool("HTTPS_ONLY", default=not DEBUG)
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    # Load balancers probe over plain HTTP and must see the real answer, not a redirect.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env_bool("TRUST_X_FORWARDED_HOST", default=False)

# Twilio.
TWILIO_ACCOUNT_SID = env_sid("TWILIO_ACCOUNT_SID", prefix="AC")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
# During an Auth Token rotation (manage.py twilio_auth_token), the other token: webhooks
# signed with either are accepted. Empty outside a rotation.
TWILIO_AUTH_TOKEN_SECONDARY = env_str("TWILIO_AUTH_TOKEN_SECONDARY")
TWILIO_API_KEY_SID = env_sid("TWILIO_API_KEY_SID", prefix="SK")
TWILIO_API_KEY_SECRET = env_str("TWILIO_API_KEY_SECRET")
# The region the API key was made in (us1, ie1, au1, ...); tokens carry it in their `twr`
# header. A key used outside its region is rejected with error 20101.
# TWILIO_EDGE picks the edge REST requests and softphones go through; outside US1 it defaults
# to the region's own edge (the table of valid pairs is voiceproject/twilio_regions.py).
try:
    TWILIO_REGION, TWILIO_EDGE = region_edge_validated(
        region=env_str("TWILIO_REGION").strip().lower(),
        edge=env_str("TWILIO_EDGE").strip().lower(),
    )
except InvalidRegionEdge as error:
    raise ImproperlyConfigured(str(error)) from None
# Twilio refuses AccessTokens that live longer than 24 hours (error 20157).
TWILIO_TOKEN_MAX_TTL = 24 * 60 * 60
TWILIO_TOKEN_TTL = env_int(
    "TWILIO_TOKEN_TTL", default=3600, minimum=60, maximum=TWILIO_TOKEN_MAX_TTL
)

# Twilio webhooks (calls/deliveries/signatures.py). Signatures are checked on the URL Twilio
# requested: by default the request's own URL (with X-Forwarded-Proto/Host when trusted above);
# behind a proxy or tunnel that rewrites them, set the public origin, e.g.
# https://voice.example.com.
TWILIO_WEBHOOK_BASE_URL = env_url(
    "TWILIO_WEBHOOK_BASE_URL", schemes=["https", "http"], origin_only=True
)
# The site's public origin, e.g. https://voice.example.com: the webhook URLs `twilio_sync` sets
# in Twilio are built on it (TWILIO_WEBHOOK_BASE_URL wins when both are set).
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", schemes=["https", "http"], origin_only=True)
# Only for local experiments: anyone could then write to the call table.
TWILIO_VALIDATE_SIGNATURES = env_bool("TWILIO_VALIDATE_SIGNATURES", default=True)
# Seconds <Dial> rings agents or numbers before giving up; Twilio accepts 5 to 600.
TWILIO_DIAL_TIMEOUT = env_int("TWILIO_DIAL_TIMEOUT", default=20, minimum=5, maximum=600)
# The music a queue's waiting caller hears (an MP3 or WAV Twilio can fetch); empty: ours,
# an eight-second loop served with the static files. Its length is a turn of the wait loop,
# so it is kept short, unlike HOLD_MUSIC_URL's.
QUEUE_HOLD_MUSIC_URL = env_url("QUEUE_HOLD_MUSIC_URL", schemes=["https", "http"])
# The conference hub (docs/agents.md): once answered, a call's legs are moved into a
# conference of its own, so agents can hold, consult and transfer and supervisors listen in.
# Off, answered calls stay bridged by their <Dial> (no hold, transfer or monitoring).
CONFERENCE_HUB = env_bool("CONFERENCE_HUB", default=True)
# What a caller on hold hears: an MP3 or WAV file, or TwiML of <Play>/<Say>/<Pause>; empty
# for our own music (voiceproject/static/voice/hold-music.wav).
HOLD_MUSIC_URL = env_url("HOLD_MUSIC_URL", schemes=["https"])

# The country whose national format a phone number without a country code is read in (the
# call log's number filter), as an ISO 3166 region code.
DEFAULT_PHONE_REGION = env_choice(
    "DEFAULT_PHONE_REGION",
    default="US",
    choices=sorted(phonenumbers.SUPPORTED_REGIONS),
    upper=True,
)
# The call log's service level: the share of inbound calls answered within this many seconds.
SERVICE_LEVEL_SECONDS = env_int("SERVICE_LEVEL_SECONDS", default=20, minimum=1, maximum=3600)
# Seconds between runs of the statistics' daily rollup (calls/log/rollup.py), run by beat.
STATS_ROLLUP_INTERVAL = env_int("STATS_ROLLUP_INTERVAL", default=15 * 60, minimum=60)
# Seconds between sweeps that fetch finished legs' Voice Insights summaries
# (calls/quality/fetching.py), run by beat; 0 turns them off.
CALL_QUALITY_INTERVAL = env_int("CALL_QUALITY_INTERVAL", default=5 * 60, minimum=0)


# Mail: password resets. Sent by SMTP through EMAIL_HOST when it is set; otherwise printed
# to the server's output (Django's console backend), so the demo works without a mail server.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", default=587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
# STARTTLS on port 587 by default; EMAIL_USE_SSL=1 for implicit TLS (port 465) instead.
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=10, minimum=1, maximum=300)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="voice@localhost")
# Streamed answers (the CSV export, recordings' audio) hold a server thread while their
# reader takes them (voiceproject/streams.py): at most this many at once per user across
# every process, this many per process (keep it at most half of GUNICORN_THREADS so that the
# other threads stay free for webhooks and token renewals), and for at most this many seconds.
STREAMS_PER_USER = env_int("STREAMS_PER_USER", default=4, minimum=1, maximum=100)
STREAMS_PER_PROCESS = env_int("STREAMS_PER_PROCESS", default=8, minimum=1, maximum=1000)
STREAM_TIME_LIMIT = env_int("STREAM_TIME_LIMIT", default=120, minimum=5, maximum=24 * 60 * 60)

# Password resets per hour (agents/password_views.py): mails to one email address (beyond,
# the same answer without a mail) and requests from one client address (beyond, a 429).
PASSWORD_RESET_MAIL_LIMIT = env_int("PASSWORD_RESET_MAIL_LIMIT", default=3, minimum=1)
PASSWORD_RESET_CLIENT_LIMIT = env_int("PASSWORD_RESET_CLIENT_LIMIT", default=20, minimum=1)
# Presence. Availability set by the browser softphone lapses to offline after this many
# seconds without a heartbeat (the page heartbeats every third of it); set through the API
# by a mobile app, it does not lapse.
PRESENCE_TIMEOUT = env_int("PRESENCE_TIMEOUT", default=90, minimum=15, maximum=3600)
# An in-progress leg counts as "on a call" until this many seconds pass without a callback
# about it, so a lost `completed` callback does not keep an agent from ringing forever.
ON_CALL_MAX_SILENCE = env_int("ON_CALL_MAX_SILENCE", default=4 * 60 * 60, minimum=60)

# Celery. Without a broker (the local default) tasks run in-process.
REDIS_SCHEMES = ["redis", "rediss"]
REDIS_URL = env_url("REDIS_URL", schemes=REDIS_SCHEMES)
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=REDIS_SCHEMES, default=REDIS_URL)
CELERY_RESULT_BACKEND = (
    env_url("CELERY_RESULT_BACKEND", schemes=REDIS_SCHEMES, default=REDIS_URL) or None
)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# The queue beat sends to and workers take from: two deployments sharing one Redis database
# need different ones.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", default="celery")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60

# Reconciliation against Twilio's REST API (calls/reconcile/runs.py), run by Celery beat.
# Another base URL for Twilio's REST API, e.g. a local fake; empty means https://api.twilio.com.
TWILIO_API_BASE_URL = env_url("TWILIO_API_BASE_URL", schemes=["https", "http"], origin_only=True)
TWILIO_API_TIMEOUT = env_float("TWILIO_API_TIMEOUT", default=30.0, minimum=0.1, maximum=600)
# 429s, 5xx and timeouts are retried this many times, waiting Retry-After or an exponential
# backoff from TWILIO_API_BACKOFF seconds, never more than TWILIO_API_BACKOFF_MAX at once.
TWILIO_API_RETRIES = env_int("TWILIO_API_RETRIES", default=4, maximum=20)
TWILIO_API_BACKOFF = env_float("TWILIO_API_BACKOFF", default=1.0, maximum=600)
TWILIO_API_BACKOFF_MAX = env_float("TWILIO_API_BACKOFF_MAX", default=30.0, maximum=3600)
# A webhook whose Timestamp is older than this (seconds) is refused: Twilio sends and retries
# within seconds, and reconciliation fills in from the REST API whatever came no other way.
WEBHOOK_TIMESTAMP_MAX_AGE = env_int(
    "WEBHOOK_TIMESTAMP_MAX_AGE", default=24 * 60 * 60, minimum=60, maximum=30 * 24 * 60 * 60
)
RECONCILE_INTERVAL = env_int("RECONCILE_INTERVAL", default=5 * 60, minimum=10)
RECONCILE_STALE_INTERVAL = env_int("RECONCILE_STALE_INTERVAL", default=60, minimum=10)
# A scheduled run that finds its previous run still going tries again after this many
# seconds, until its next scheduled run is due.
RECONCILE_SKIPPED_RETRY = env_int("RECONCILE_SKIPPED_RETRY", default=30, minimum=1)
# Each run lists calls started since the last good watermark minus this overlap, because
# Twilio's list is eventually consistent.
RECONCILE_OVERLAP = env_int("RECONCILE_OVERLAP", default=15 * 60)
RECONCILE_FIRST_LOOKBACK = env_int("RECONCILE_FIRST_LOOKBACK", default=24 * 60 * 60, minimum=1)
# Twilio pages hold at most 1000 calls.
RECONCILE_PAGE_SIZE = env_int("RECONCILE_PAGE_SIZE", default=1000, minimum=1, maximum=1000)
# A leg not final that Twilio has told nothing about for this many seconds is fetched by SID.
RECONCILE_STALE_AFTER = env_int("RECONCILE_STALE_AFTER", default=5 * 60, minimum=1)
RECONCILE_STALE_LIMIT = env_int("RECONCILE_STALE_LIMIT", default=500, minimum=1)
# A running run that has shown no progress for this long is presumed dead and replaced.
RECONCILE_LOCK_TIMEOUT = env_int("RECONCILE_LOCK_TIMEOUT", default=10 * 60, minimum=1)
# Longest voicemail a caller may leave, in seconds (<Record maxLength>).
VOICEMAIL_MAX_LENGTH = env_int("VOICEMAIL_MAX_LENGTH", default=120, minimum=5, maximum=4 * 60 * 60)
# Recordings older than this many days are deleted at Twilio; 0 or empty keeps them forever.
RECORDING_RETENTION_DAYS = env_int("RECORDING_RETENTION_DAYS", default=0, minimum=0) or None
RECORDING_RETENTION_INTERVAL = env_int("RECORDING_RETENTION_INTERVAL", default=60 * 60, minimum=60)
# Each entry expires after its interval, so runs queued while no worker listens don't pile up.
CELERY_BEAT_SCHEDULE = {
    "presence-lapse-silent-softphones": {
        "task": "presence.tasks.presence_lapse_silent_softphones",
        "schedule": PRESENCE_TIMEOUT / 3,
        "options": {"expires": PRESENCE_TIMEOUT / 3},
    },
    "reconcile-recent-calls": {
        "task": "calls.tasks.reconcile_recent_calls",
        "schedule": RECONCILE_INTERVAL,
        "options": {"expires": RECONCILE_INTERVAL},
    },
    "reconcile-stale-calls": {
        "task": "calls.tasks.reconcile_stale_calls",
        "schedule": RECONCILE_STALE_INTERVAL,
        "options": {"expires": RECONCILE_STALE_INTERVAL},
    },
    "reconcile-open-conferences": {
        "task": "calls.tasks.reconcile_open_conferences",
        "schedule": RECONCILE_STALE_INTERVAL,
        "options": {"expires": RECONCILE_STALE_INTERVAL},
    },
    "reconcile-recent-recordings": {
        "task": "calls.tasks.reconcile_recent_recordings",
        "schedule": RECONCILE_INTERVAL,
        "options": {"expires": RECONCILE_INTERVAL},
    },
    # Single-call runs asked for while the broker was unreachable.
    "reconcile-requests-send": {
        "task": "calls.tasks.reconcile_requests_send",
        "schedule": 60,
        "options": {"expires": 60},
    },
    "recordings-delete-expired": {
        "task": "calls.tasks.recordings_delete_expired",
        "schedule": RECORDING_RETENTION_INTERVAL,
        "options": {"expires": RECORDING_RETENTION_INTERVAL},
    },
    # /readyz reads the heartbeat this writes to tell that beat runs.
    "readiness-beat-heartbeat": {
        "task": "voiceproject.tasks.readiness_beat_heartbeat",
        "schedule": BEAT_HEARTBEAT_INTERVAL,
        "options": {"expires": BEAT_HEARTBEAT_INTERVAL},
    },
    "call-stats-rollup": {
        "task": "calls.tasks.call_stats_rollup",
        "schedule": STATS_ROLLUP_INTERVAL,
        "options": {"expires": STATS_ROLLUP_INTERVAL},
    },
}
if CALL_QUALITY_INTERVAL:
    CELERY_BEAT_SCHEDULE["call-quality-sweep"] = {
        "task": "calls.tasks.call_quality_sweep",
        "schedule": CALL_QUALITY_INTERVAL,
        "options": {"expires": CALL_QUALITY_INTERVAL},
    }

# Shared cache: Redis when configured, so that every worker sees the same entries; this
# process's memory otherwise.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Content-Security-Policy on every answer (django-csp): scripts, styles and everything else
# from our own origin only, no inline script or style. The softphone talks to Twilio's
# signalling and media servers; its sounds are our own static files. Violations are POSTed to
# /csp-report/ and logged.
TWILIO_SDK_ORIGINS = ["https://*.twilio.com", "wss://*.twilio.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, *TWILIO_SDK_ORIGINS],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    },
}

REST_FRAMEWORK = {
    # Token first, so that anonymous requests get 401 with a WWW-Authenticate header.
    # Our device tokens, loading the user's agent in the same query.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tokens.authentication.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own three, with JSON nesting bounded (a deep document would exhaust the stack).
    "DEFAULT_PARSER_CLASSES": [
        "voiceproject.json_input.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "voiceproject.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Voice server API",
    "DESCRIPTION": "AccessTokens for Voice SDK agents and the call log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for logged-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = env_choice(
    "LOG_LEVEL",
    default="INFO",
    choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    upper=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # twilio-python logs every request and its headers at INFO; reconciliation makes thousands.
    "loggers": {
        "twilio.http_client": {"level": "WARNING"},
        # django-axes logs every successful login at INFO; failures and lockouts are warnings.
        "axes": {"level": "WARNING"},
    },
}
