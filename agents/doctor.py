"""The setup doctor: `manage.py twilio_doctor` and the admin's "Twilio setup" page.

Each check is one finding, OK, WARN or FAIL, whose message says what to do about it. The
checks ask Twilio through the REST client and read nothing but our tables and settings.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import compare
from twilio.rest import Client

from agents.models import Agent, PhoneNumber, TwimlApp
from agents.provisioning import (
    VoiceSetting,
    WebhookBaseUrlMissing,
    voice_differences,
    voice_settings,
    webhook_base_url,
)
from calls.quality.fetching import insights_refusal
from calls.reconcile.selectors import OVERDUE_INTERVALS, reconcile_overdue_jobs
from calls.twilio_errors.codes import error_advice
from calls.twilio_errors.selectors import twilio_error_counts_by_code
from voiceproject.twilio_regions import US1, rest_api_host
from voiceproject.twilio_rest import (
    TwilioCredentialsRejected,
    TwilioUnavailable,
    twilio_rest_client,
)

FIX_URLS = "run `manage.py twilio_sync --apply` (or the admin's Twilio setup page) to set them"
# Chat v2 credential types: `fcm`, and `gcm` for credentials made before FCM existed.
ANDROID_PUSH_TYPES = {"fcm", "gcm"}


# The settings the doctor needs, each with why.
CREDENTIALS = [
    ("TWILIO_ACCOUNT_SID", "copy the Account SID (AC…) from the Twilio Console"),
    ("TWILIO_AUTH_TOKEN", "every webhook is refused without it"),
    ("TWILIO_API_KEY_SID", "create an API key in the region you use and set its SID"),
    ("TWILIO_API_KEY_SECRET", "set the secret shown once when the key was created"),
]
# The checks of the account's resources, each asking Twilio on its own.
RESOURCE_CHECKS = ["TwiML Apps", "numbers", "push credentials", "caller IDs"]
# What asking Twilio may raise.
TWILIO_ERRORS = (TwilioCredentialsRejected, TwilioUnavailable, TwilioException)


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.value:<4}  {self.check}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {**asdict(self), "level": self.level.value}


def doctor_ok(findings: list[Finding]) -> bool:
    """Whether nothing FAILed: warnings leave a setup working."""
    return all(finding.level is not Level.FAIL for finding in findings)


def twilio_doctor(*, client: Client | None = None) -> list[Finding]:
    """Run every check; one that could not ask Twilio says so, and why, instead of passing.

    Each check of the account's resources asks Twilio on its own, so a failure in one leaves
    the others' findings standing. After a failed credentials check they are only named as
    not checked: each would wait through the same retries for the same answer. `client` is
    the REST client to ask with; the configured one, patient, by default.
    """
    findings = [
        *settings_findings(),
        *public_url_findings(),
        *reconcile_findings(),
        *call_quality_findings(),
    ]
    findings += twilio_error_findings(now=timezone.now())
    missing = [name for name, _ in CREDENTIALS if not getattr(settings, name)]
    if missing:
        reason = f"{', '.join(missing)} not set"
        return findings + not_checked(["credentials", *RESOURCE_CHECKS], reason=reason)
    client = client or twilio_rest_client()
    account_findings = credentials_findings(client=client)
    findings += account_findings
    if not doctor_ok(account_findings):
        return findings + not_checked(RESOURCE_CHECKS, reason="the credentials check failed")
    try:
        wanted = voice_settings()
    except WebhookBaseUrlMissing:
        wanted = None  # Already a FAIL of its own; existence is still worth checking.
    account = client.api.v2010.account
    checks: dict[str, Callable[[], list[Finding]]] = {
        "TwiML Apps": lambda: app_findings(account=account, wanted=wanted),
        "numbers": lambda: number_findings(account=account, wanted=wanted),
        "push credentials": lambda: push_credential_findings(client=client),
        "caller IDs": lambda: caller_id_findings(account=account),
    }
    for check, run in checks.items():
        try:
            findings += run()
        except TWILIO_ERRORS as error:
            findings.append(
                Finding(Level.FAIL, check, f"Not checked: Twilio did not answer: {error}")
            )
    return findings


def not_checked(checks: list[str], *, reason: str) -> list[Finding]:
    """Name the checks that were not run, so that silence never reads as a pass."""
    return [Finding(Level.WARN, check, f"Not checked: {reason}.") for check in checks]


def settings_findings() -> list[Finding]:
    """The credentials are set, and no two settings contradict each other."""
    findings = [
        Finding(Level.FAIL, "settings", f"{name} is not set: {why}.")
        for name, why in CREDENTIALS
        if not getattr(settings, name)
    ]
    if not settings.TWILIO_VALIDATE_SIGNATURES:
        level = Level.WARN if settings.DEBUG else Level.FAIL
        findings.append(
            Finding(
                level,
                "settings",
                "TWILIO_VALIDATE_SIGNATURES=0 lets anyone write to the call table: unset it.",
            )
        )
    if settings.TWILIO_API_BASE_URL and not settings.DEBUG:
        findings.append(
            Finding(
                Level.WARN,
                "settings",
                f"TWILIO_API_BASE_URL sends REST requests to {settings.TWILIO_API_BASE_URL} "
                f"instead of Twilio ({_api_host()}): unset it in production.",
            )
        )
    if not settings.DEBUG and not settings.CELERY_BROKER_URL:
        findings.append(
            Finding(
                Level.WARN,
                "settings",
                "No REDIS_URL: without a broker no Celery beat runs, so calls are never "
                "reconciled on schedule; set REDIS_URL and run a worker and beat.",
            )
        )
    if not findings:
        findings.append(Finding(Level.OK, "settings", "Credentials are set; nothing contradicts."))
    return findings


def reconcile_findings() -> list[Finding]:
    """Each scheduled reconciliation completes: lost webhooks are backfilled."""
    if not settings.CELERY_BROKER_URL:
        return []  # Nothing is scheduled; settings_findings says so in production.
    overdue = reconcile_overdue_jobs(now=timezone.now())
    if overdue:
        return [Finding(Level.WARN, "reconciliation", str(job)) for job in overdue]
    return [
        Finding(
            Level.OK,
            "reconciliation",
            f"Every scheduled run completed within {OVERDUE_INTERVALS} of its intervals.",
        )
    ]


def twilio_error_findings(*, now: datetime) -> list[Finding]:
    """The errors Twilio reported in the last day, each code with what it means and what to
    do when it is a common one."""
    counts = twilio_error_counts_by_code(since=now - timedelta(days=1))
    if not counts:
        return [Finding(Level.OK, "Twilio errors", "Twilio reported no errors in the last day.")]
    findings = []
    for code, errors, last in counts:
        advice = error_advice(code)
        about = f"{advice.meaning}: {advice.remedy}" if advice else "see the admin's Twilio errors"
        findings.append(
            Finding(
                Level.WARN,
                "Twilio errors",
                f"{code} {errors} time(s) in the last day, last at {last:%Y-%m-%d %H:%M} UTC "
                f"({about}; https://www.twilio.com/docs/api/errors/{code}).",
            )
        )
    return findings


def call_quality_findings() -> list[Finding]:
    """Twilio gives the Voice Insights summaries the call quality sweep asks for."""
    if not settings.CELERY_BROKER_URL or not settings.CALL_QUALITY_INTERVAL:
        return []  # Nothing asks for them.
    refusal = insights_refusal()
    if refusal is None:
        return [
            Finding(
                Level.OK,
                "call quality",
                "Voice Insights summaries are fetched for finished calls "
                f"(every {settings.CALL_QUALITY_INTERVAL} s).",
            )
        ]
    code = f", error {refusal.code}" if refusal.code else ""
    return [
        Finding(
            Level.WARN,
            "call quality",
            f"Twilio refused Voice Insights summaries on {refusal.recorded_at:%Y-%m-%d %H:%M} "
            f"UTC (HTTP {refusal.status}{code}: {refusal.message}); no call's quality is "
            "fetched. Turn on Voice Insights Advanced Features in the Twilio Console, then "
            "delete the refusal in the admin (Insights refusals) to fetch again.",
        )
    ]


def public_url_findings() -> list[Finding]:
    """The public base URL is HTTPS, served by us, and what the signature check will use."""
    try:
        base = webhook_base_url()
    except WebhookBaseUrlMissing as error:
        return [Finding(Level.FAIL, "public URL", str(error))]
    origin = urlsplit(base)
    findings = []
    if origin.scheme != "https":
        findings.append(
            Finding(
                Level.FAIL,
                "public URL",
                f"{origin.scheme}://{origin.netloc} is not HTTPS: Twilio would send call "
                "details in clear text; serve the site over HTTPS and use https://.",
            )
        )
    public, webhook = settings.PUBLIC_BASE_URL, settings.TWILIO_WEBHOOK_BASE_URL
    if public and webhook and public != webhook:
        findings.append(
            Finding(
                Level.WARN,
                "public URL",
                f"TWILIO_WEBHOOK_BASE_URL ({webhook}) differs from PUBLIC_BASE_URL ({public}): "
                "webhooks are set to and signatures checked against the former; make them "
                "equal unless Twilio reaches this server through a tunnel.",
            )
        )
    host = origin.hostname or ""
    if not validate_host(host, settings.ALLOWED_HOSTS):
        findings.append(
            Finding(
                Level.FAIL,
                "public URL",
                f"{host} is not in ALLOWED_HOSTS: every webhook would answer 400; add it.",
            )
        )
    if (
        not webhook
        and origin.scheme == "https"
        and settings.SECURE_PROXY_SSL_HEADER is None
        and not settings.DEBUG
    ):
        findings.append(
            Finding(
                Level.WARN,
                "public URL",
                "The signature check uses the request's own URL: behind a TLS-terminating "
                "proxy that is http://, and every webhook fails with 403. Set "
                "TRUST_X_FORWARDED_PROTO=1 (the proxy sets X-Forwarded-Proto) or "
                f"TWILIO_WEBHOOK_BASE_URL={public}.",
            )
        )
    if not findings:
        findings.append(
            Finding(
                Level.OK,
                "public URL",
                f"Webhooks go to {base}, over HTTPS, to a host this server answers. Whether "
                "Twilio reaches it is not checked from here: place a test call, and look for "
                "errors 11200 and 11205 in the Twilio Console's debugger.",
            )
        )
    return findings


def credentials_findings(*, client: Client) -> list[Finding]:
    """The API key opens the account in the configured region."""
    region = settings.TWILIO_REGION or US1
    account = client.api.v2010.account
    try:
        fetched = account.fetch()
        key = account.keys(settings.TWILIO_API_KEY_SID).fetch()
    except TwilioCredentialsRejected:
        return [
            Finding(
                Level.FAIL,
                "credentials",
                f"Twilio's {region} API ({_api_host()}) refused API key "
                f"{settings.TWILIO_API_KEY_SID}: either TWILIO_API_KEY_SECRET is wrong, or the "
                "key was made in another region. A key works only in its own region: set "
                "TWILIO_REGION to it, or create a key in this one (tokens signed with a key "
                "from another region fail with error 20101).",
            )
        ]
    except TWILIO_ERRORS as error:
        return [Finding(Level.FAIL, "credentials", f"Twilio could not be asked: {error}")]
    findings = [
        Finding(
            Level.OK if fetched.status == "active" else Level.FAIL,
            "credentials",
            f"Account {fetched.friendly_name!r} ({fetched.sid}) is {fetched.status}"
            + ("." if fetched.status == "active" else ": reactivate it in the Twilio Console."),
        ),
        Finding(
            Level.OK,
            "API key",
            f"{key.sid} ({key.friendly_name!r}) exists in region {region}.",
        ),
        signing_token_finding(fetched.auth_token or ""),
    ]
    return findings


def signing_token_finding(primary: str) -> Finding:
    """Which of our token settings is the account's primary Auth Token, which Twilio signs
    webhooks with; never the token itself."""
    secondary = settings.TWILIO_AUTH_TOKEN_SECONDARY
    if not primary:
        return Finding(
            Level.WARN,
            "Auth Token",
            "Twilio did not show the account's Auth Token to these credentials: which one "
            "signs webhooks cannot be checked.",
        )
    if compare(primary, settings.TWILIO_AUTH_TOKEN):
        rotation = (
            " TWILIO_AUTH_TOKEN_SECONDARY is accepted too: `manage.py twilio_auth_token "
            "promote` is the next step of the rotation."
            if secondary
            else ""
        )
        return Finding(
            Level.OK, "Auth Token", "Twilio signs webhooks with TWILIO_AUTH_TOKEN." + rotation
        )
    if secondary and compare(primary, secondary):
        return Finding(
            Level.WARN,
            "Auth Token",
            "Twilio signs webhooks with TWILIO_AUTH_TOKEN_SECONDARY (promoted): set "
            "TWILIO_AUTH_TOKEN to its value, unset TWILIO_AUTH_TOKEN_SECONDARY and deploy.",
        )
    return Finding(
        Level.FAIL,
        "Auth Token",
        "Twilio signs webhooks with neither TWILIO_AUTH_TOKEN nor TWILIO_AUTH_TOKEN_SECONDARY, "
        "so every webhook is refused with 403: copy the Auth Token from the Twilio Console.",
    )


def app_findings(*, account: Any, wanted: list[VoiceSetting] | None) -> list[Finding]:
    """Each TwiML App of ours exists in the account and points here."""
    apps = list(TwimlApp.objects.all())
    if not apps:
        return [
            Finding(
                Level.FAIL,
                "TwiML Apps",
                "There is no TwiML App: run `manage.py twilio_sync --apply` to import the "
                "account's or create one.",
            )
        ]
    findings = []
    for app in apps:
        found = _fetch_or_none(account.applications(app.sid).fetch)
        if found is None:
            findings.append(
                Finding(
                    Level.FAIL,
                    "TwiML Apps",
                    f"{app} does not exist in the account: correct its SID in the admin.",
                )
            )
            continue
        findings.append(_url_finding("TwiML Apps", str(app), found, wanted))
    return findings


def number_findings(*, account: Any, wanted: list[VoiceSetting] | None) -> list[Finding]:
    """Each number of ours is the account's and points here, directly or through our app."""
    by_number = {number.phone_number: number for number in account.incoming_phone_numbers.list()}
    our_apps = set(TwimlApp.objects.values_list("sid", flat=True))
    findings = []
    for number in PhoneNumber.objects.all():
        found = by_number.get(number.number)
        if found is None:
            findings.append(
                Finding(
                    Level.FAIL,
                    "numbers",
                    f"{number.number} is not one of the account's numbers: buy or port it, "
                    "or delete it in the admin.",
                )
            )
        elif found.voice_application_sid in our_apps:
            findings.append(
                Finding(
                    Level.OK,
                    "numbers",
                    f"{number.number} is answered by TwiML App {found.voice_application_sid}.",
                )
            )
        elif found.voice_application_sid:
            findings.append(
                Finding(
                    Level.FAIL,
                    "numbers",
                    f"{number.number} is answered by TwiML App {found.voice_application_sid}, "
                    "which is not ours: set the number to one of our apps or to our URLs "
                    "in the Twilio Console.",
                )
            )
        else:
            findings.append(_url_finding("numbers", number.number, found, wanted))
    return findings


def push_credential_findings(*, client: Client) -> list[Finding]:
    """Each push credential exists and is of the type its field says (APNs or FCM)."""
    chat = client.chat.v2
    findings = []
    for app in TwimlApp.objects.exclude(apn_credential_sid="", fcm_credential_sid=""):
        for sid, platform, types, field in [
            (app.apn_credential_sid, "iOS", {"apn"}, "APN"),
            (app.fcm_credential_sid, "Android", ANDROID_PUSH_TYPES, "FCM"),
        ]:
            if not sid:
                continue
            credential = _fetch_or_none(chat.credentials(sid).fetch)
            where = f"{app.friendly_name}'s {field} credential {sid}"
            if credential is None:
                findings.append(
                    Finding(
                        Level.FAIL,
                        "push credentials",
                        f"{where} does not exist: {platform} devices will not ring; "
                        "create it (Voice → Credentials) and enter its SID.",
                    )
                )
            elif credential.type not in types:
                findings.append(
                    Finding(
                        Level.FAIL,
                        "push credentials",
                        f"{where} is of type {credential.type}, not for {platform}: "
                        f"clear the {field} field and enter it in the right one.",
                    )
                )
            elif credential.type == "apn" and credential.sandbox == "true" and not settings.DEBUG:
                findings.append(
                    Finding(
                        Level.WARN,
                        "push credentials",
                        f"{where} is a sandbox credential: only development builds of the "
                        "iOS app ring; use a production credential for App Store builds.",
                    )
                )
            else:
                findings.append(
                    Finding(Level.OK, "push credentials", f"{where} is a {credential.type} one.")
                )
    return findings


def caller_id_findings(*, account: Any) -> list[Finding]:
    """Each agent's caller ID is one of the account's numbers or verified caller IDs."""
    allowed = {number.phone_number for number in account.incoming_phone_numbers.list()} | {
        caller.phone_number for caller in account.outgoing_caller_ids.list()
    }
    findings = []
    for agent in Agent.objects.filter(is_active=True):
        if not agent.caller_id:
            findings.append(
                Finding(
                    Level.WARN,
                    "caller IDs",
                    f"Agent {agent.identity} has no caller ID: it can call other agents but "
                    "not phone numbers; set one in the admin.",
                )
            )
        elif agent.caller_id not in allowed:
            # The admin accepts a number that is not ours only when flagged as verified:
            # this is where that claim is checked.
            flagged = " although marked verified in the admin" if agent.caller_id_verified else ""
            findings.append(
                Finding(
                    Level.FAIL,
                    "caller IDs",
                    f"Agent {agent.identity}'s caller ID {agent.caller_id} is neither one of "
                    f"the account's numbers nor a verified caller ID{flagged}: its calls fail "
                    "with error 13214; pick one of the account's numbers or verify it "
                    "(Phone Numbers → Verified Caller IDs).",
                )
            )
    if not findings:
        findings.append(
            Finding(Level.OK, "caller IDs", "Every agent's caller ID belongs to the account.")
        )
    return findings


def _url_finding(
    check: str, name: str, resource: Any, wanted: list[VoiceSetting] | None
) -> Finding:
    if wanted is None:
        return Finding(Level.WARN, check, f"{name} exists; its URLs wait for PUBLIC_BASE_URL.")
    differences = voice_differences(resource=resource, wanted=wanted)
    if not differences:
        return Finding(Level.OK, check, f"{name} points here.")
    details = "; ".join(
        f"{difference.setting.label} is {difference.current or '(empty)'!r}, "
        f"needs {difference.setting.wanted!r}"
        for difference in differences
    )
    return Finding(Level.FAIL, check, f"{name}: {details}: {FIX_URLS}.")


def _fetch_or_none(fetch: Callable[[], Any]) -> Any | None:
    """Fetch one resource; None when Twilio answers 404."""
    try:
        return fetch()
    except TwilioRestException as error:
        if error.status == 404:
            return None
        raise


def _api_host() -> str:
    return rest_api_host(region=settings.TWILIO_REGION, edge=settings.TWILIO_EDGE)
