"""Bring the Twilio account and our tables into agreement: `manage.py twilio_sync` and the admin.

Imports the account's TwiML Apps and phone numbers into our tables (never deleting ours),
compares each one's Voice URL, fallback URL and status callback with the ones this server
answers on, and, when asked to apply, sets them through the REST API. Every write is logged
and reported.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from twilio.rest import Client

from agents.models import PhoneNumber, TwimlApp
from voiceproject.twilio_ids import is_e164
from voiceproject.twilio_rest import rest_credentials_required, twilio_rest_client

logger = logging.getLogger(__name__)

# The name of the TwiML App created when the account has none.
CREATED_APP_NAME = "Voice server"
TWIML_APP = "TwiML App"
PHONE_NUMBER = "Number"


class WebhookBaseUrlMissing(Exception):
    """Neither PUBLIC_BASE_URL nor TWILIO_WEBHOOK_BASE_URL says where Twilio reaches us."""


@dataclass(frozen=True)
class VoiceSetting:
    """One voice setting of a TwiML App or number: its label, resource field, POST parameter."""

    label: str
    field: str
    parameter: str
    wanted: str


@dataclass(frozen=True)
class Difference:
    setting: VoiceSetting
    current: str


@dataclass
class ResourcePlan:
    """What one TwiML App or number has at Twilio against what this server needs."""

    kind: str
    sid: str
    name: str
    differences: list[Difference]
    # For a number answered by one of our TwiML Apps: that app's SID (its URLs then count).
    through_app: str = ""
    applied: bool = False

    def __str__(self) -> str:
        title = f"{self.kind} {self.name} ({self.sid})"
        if self.through_app:
            return f"{title}: answered by TwiML App {self.through_app}"
        if not self.differences:
            return f"{title}: every URL points here"
        verb = "set" if self.applied else "needs"
        changes = "; ".join(
            f"{difference.setting.label} {difference.current or '(empty)'!r} "
            f"{verb} {difference.setting.wanted!r}"
            for difference in self.differences
        )
        return f"{title}: {changes}"


@dataclass
class SyncReport:
    """Everything a sync found and did, in the order it happened, for a person to read."""

    imported: list[str] = field(default_factory=list)
    plans: list[ResourcePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[ResourcePlan]:
        return [plan for plan in self.plans if plan.differences and not plan.applied]

    def lines(self) -> list[str]:
        return [*self.imported, *map(str, self.plans), *self.notes, *self.writes]


def webhook_base_url() -> str:
    """The origin Twilio requests our webhooks on; the signature check uses the same one."""
    base = settings.TWILIO_WEBHOOK_BASE_URL or settings.PUBLIC_BASE_URL
    if not base:
        raise WebhookBaseUrlMissing(
            "Set PUBLIC_BASE_URL to this server's public origin (https://voice.example.com), "
            "or TWILIO_WEBHOOK_BASE_URL when Twilio reaches it through a tunnel."
        )
    return base


def voice_settings() -> list[VoiceSetting]:
    """The voice settings every TwiML App and directly configured number must have."""
    base = webhook_base_url()
    return [
        VoiceSetting("Voice URL", "voice_url", "VoiceUrl", base + reverse("webhooks:voice")),
        VoiceSetting("Voice method", "voice_method", "VoiceMethod", "POST"),
        VoiceSetting(
            "Fallback URL",
            "voice_fallback_url",
            "VoiceFallbackUrl",
            base + reverse("webhooks:voice-fallback"),
        ),
        VoiceSetting("Fallback method", "voice_fallback_method", "VoiceFallbackMethod", "POST"),
        VoiceSetting(
            "Status callback",
            "status_callback",
            "StatusCallback",
            base + reverse("webhooks:status"),
        ),
        VoiceSetting(
            "Status callback method", "status_callback_method", "StatusCallbackMethod", "POST"
        ),
    ]


def voice_differences(*, resource: Any, wanted: list[VoiceSetting]) -> list[Difference]:
    """The settings in which a Twilio resource differs from what this server needs."""
    differences = []
    for setting in wanted:
        current = getattr(resource, setting.field) or ""
        # Twilio answers methods in upper case, but accepts and may echo lower case.
        compared = current.upper() if setting.field.endswith("_method") else current
        if compared != setting.wanted:
            differences.append(Difference(setting, current))
    return differences


def twilio_sync(
    *,
    apply: bool,
    app_sids: Collection[str] | None = None,
    phone_numbers: Collection[str] | None = None,
    import_resources: bool = True,
    client: Client | None = None,
) -> SyncReport:
    """Import the account's apps and numbers, compare their URLs, and set them when applying.

    With app_sids or phone_numbers only those are compared (the admin's actions on selected
    rows) and nothing is imported or created. Without import_resources (a page showing what
    a sync would do) the report only names what would be imported. `client` is the REST
    client to ask with; the configured one, patient, by default.
    """
    rest_credentials_required()
    wanted = voice_settings()
    client = client or twilio_rest_client()
    account = client.api.v2010.account
    report = SyncReport()
    everything = app_sids is None and phone_numbers is None
    twilio_apps = account.applications.list()
    twilio_numbers = account.incoming_phone_numbers.list()
    if everything:
        _import(
            report=report,
            twilio_apps=twilio_apps,
            twilio_numbers=twilio_numbers,
            really=import_resources or apply,
        )
        if not twilio_apps:
            _create_app(report=report, account=account, wanted=wanted, apply=apply)
    our_app_sids = set(TwimlApp.objects.values_list("sid", flat=True))
    for app in twilio_apps:
        if everything or (app_sids is not None and app.sid in app_sids):
            plan = ResourcePlan(TWIML_APP, app.sid, app.friendly_name, [])
            plan.differences = voice_differences(resource=app, wanted=wanted)
            report.plans.append(plan)
            if apply and plan.differences:
                _update(report=report, plan=plan, context=account.applications(app.sid))
    for number in twilio_numbers:
        selected = everything or (
            phone_numbers is not None and number.phone_number in phone_numbers
        )
        if not selected:
            continue
        plan = ResourcePlan(PHONE_NUMBER, number.sid, number.phone_number, [])
        if number.voice_application_sid in our_app_sids:
            plan.through_app = number.voice_application_sid
        else:
            plan.differences = voice_differences(resource=number, wanted=wanted)
        report.plans.append(plan)
        if apply and plan.differences:
            _update(report=report, plan=plan, context=account.incoming_phone_numbers(number.sid))
    _note_missing_at_twilio(report=report, twilio_apps=twilio_apps, twilio_numbers=twilio_numbers)
    return report


@transaction.atomic
def _import(
    *, report: SyncReport, twilio_apps: list[Any], twilio_numbers: list[Any], really: bool
) -> None:
    """Add the account's apps and numbers we lack (or only name them); keep ours as they are."""
    verb = "Imported" if really else "Would import"
    our_apps = set(TwimlApp.objects.values_list("sid", flat=True))
    for app in twilio_apps:
        if app.sid in our_apps:
            continue
        if really:
            TwimlApp.objects.create(sid=app.sid, friendly_name=(app.friendly_name or app.sid)[:64])
        report.imported.append(f"{verb} {TWIML_APP} {app.friendly_name} ({app.sid})")
    our_numbers = set(PhoneNumber.objects.values_list("number", flat=True))
    for number in twilio_numbers:
        if number.phone_number in our_numbers:
            continue
        if not is_e164(number.phone_number):
            report.notes.append(f"Skipped {number.phone_number}: not an E.164 phone number")
            continue
        if really:
            PhoneNumber.objects.create(
                number=number.phone_number, friendly_name=(number.friendly_name or "")[:64]
            )
        report.imported.append(f"{verb} {PHONE_NUMBER} {number.phone_number}")


def _create_app(
    *, report: SyncReport, account: Any, wanted: list[VoiceSetting], apply: bool
) -> None:
    """Create the TwiML App the agents' outgoing calls need, when the account has none."""
    if not apply:
        report.notes.append(
            f"The account has no TwiML App: applying creates {CREATED_APP_NAME!r} with this "
            "server's URLs"
        )
        return
    created = account.applications.create(
        friendly_name=CREATED_APP_NAME, **{setting.field: setting.wanted for setting in wanted}
    )
    TwimlApp.objects.get_or_create(sid=created.sid, defaults={"friendly_name": CREATED_APP_NAME})
    line = f"Created {TWIML_APP} {CREATED_APP_NAME} ({created.sid}) with this server's URLs"
    logger.info(line)
    report.writes.append(line)


def _update(*, report: SyncReport, plan: ResourcePlan, context: Any) -> None:
    """Set the differing voice settings of one app or number through the REST API."""
    context.update(
        **{difference.setting.field: difference.setting.wanted for difference in plan.differences}
    )
    plan.applied = True
    line = f"Updated {plan}"
    logger.info(line)
    report.writes.append(line)


def _note_missing_at_twilio(
    *, report: SyncReport, twilio_apps: list[Any], twilio_numbers: list[Any]
) -> None:
    """Name our apps and numbers the account does not have: a typo, or another account."""
    known_apps = {app.sid for app in twilio_apps}
    known_numbers = {number.phone_number for number in twilio_numbers}
    for app in TwimlApp.objects.exclude(sid__in=known_apps):
        report.notes.append(f"{TWIML_APP} {app} is not in the Twilio account: check its SID")
    for number in PhoneNumber.objects.exclude(number__in=known_numbers):
        report.notes.append(f"{PHONE_NUMBER} {number.number} is not in the Twilio account")
