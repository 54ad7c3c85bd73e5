"""The admin's "Twilio setup" page and the sync actions on TwiML Apps and numbers.

For supervisors: staff who may change TwiML Apps and phone numbers. Every page shows what
would change before anything does; a POST with `confirm` applies it. Someone waits for these
pages: they ask Twilio with short timeouts and no retries (twilio_rest_client_for_a_page).
"""

from collections.abc import Callable, Collection
from typing import TypedDict, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from twilio.base.exceptions import TwilioException

from agents.doctor import doctor_ok, twilio_doctor
from agents.models import PhoneNumber, TwimlApp
from agents.provisioning import SyncReport, WebhookBaseUrlMissing, twilio_sync
from voiceproject.twilio_rest import (
    PAGE_TIMEOUT,
    TwilioCredentialsMissing,
    TwilioCredentialsRejected,
    TwilioUnavailable,
    twilio_page_failure,
    twilio_rest_client_for_a_page,
)

Result = TypeVar("Result")
M = TypeVar("M", bound=Model)
# The action's name in the changelists' POSTs.
SYNC_ACTION = "set_twilio_urls"

SETUP_PERMISSIONS = ("agents.change_twimlapp", "agents.change_phonenumber")
# What asking Twilio may raise; shown on the page instead of a 500.
TWILIO_ERRORS = (
    WebhookBaseUrlMissing,
    TwilioCredentialsMissing,
    TwilioCredentialsRejected,
    TwilioUnavailable,
    TwilioException,
)


class SyncSelection(TypedDict):
    """The selected rows, as the keyword arguments that limit twilio_sync to them."""

    app_sids: Collection[str]
    phone_numbers: Collection[str]


def twilio_setup_view(request: HttpRequest) -> HttpResponse:
    """Run the doctor and show a sync's plan; a confirmed POST imports and sets the URLs."""
    if not request.user.has_perms(SETUP_PERMISSIONS):
        raise PermissionDenied
    client = twilio_rest_client_for_a_page()
    if request.method == "POST" and "confirm" in request.POST:
        report = _report_or_message(request, lambda: twilio_sync(apply=True, client=client))
        if report is not None:
            _announce(request, report)
        return HttpResponseRedirect(reverse("twilio-setup"))
    findings = _report_or_message(request, lambda: twilio_doctor(client=client)) or []
    plan = None
    if twilio_page_failure(client) is None:
        plan = _report_or_message(
            request, lambda: twilio_sync(apply=False, import_resources=False, client=client)
        )
    context = {
        **admin.site.each_context(request),
        "title": "Twilio setup",
        "findings": findings,
        "healthy": doctor_ok(findings),
        "plan": plan,
        "unreachable": twilio_page_failure(client),
        "page_timeout": PAGE_TIMEOUT,
    }
    return TemplateResponse(request, "admin/agents/twilio_setup.html", context)


def sync_action(
    *, description: str, selection: Callable[[QuerySet[M]], SyncSelection]
) -> Callable[[admin.ModelAdmin[M], HttpRequest, QuerySet[M]], HttpResponse | None]:
    """Build an admin action that shows the selected rows' URL changes, then applies them."""

    @admin.action(description=description, permissions=["change"])
    def action(
        model_admin: admin.ModelAdmin[M], request: HttpRequest, queryset: QuerySet[M]
    ) -> HttpResponse | None:
        chosen = selection(queryset)
        apply = "confirm" in request.POST
        report = _report_or_message(
            request,
            lambda: twilio_sync(apply=apply, client=twilio_rest_client_for_a_page(), **chosen),
        )
        if report is None or apply:
            if report is not None:
                _announce(request, report)
            return None
        context = {
            **model_admin.admin_site.each_context(request),
            "title": "Point these at this server?",
            "plan": report,
            "queryset": queryset,
            "action": request.POST["action"],
            "opts": model_admin.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/agents/twilio_sync_confirm.html", context)

    action.__name__ = SYNC_ACTION
    return action


def apps_selected(queryset: QuerySet[TwimlApp]) -> SyncSelection:
    return {"app_sids": set(queryset.values_list("sid", flat=True)), "phone_numbers": ()}


def numbers_selected(queryset: QuerySet[PhoneNumber]) -> SyncSelection:
    return {"app_sids": (), "phone_numbers": set(queryset.values_list("number", flat=True))}


def _report_or_message(request: HttpRequest, run: Callable[[], Result]) -> Result | None:
    try:
        return run()
    except TWILIO_ERRORS as error:
        messages.error(request, f"Twilio could not be asked: {error}")
        return None


def _announce(request: HttpRequest, report: SyncReport) -> None:
    for line in report.imported + report.writes:
        messages.success(request, line)
    if not report.imported and not report.writes:
        messages.info(request, "Nothing to change: every URL points here.")
