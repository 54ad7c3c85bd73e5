import phonenumbers
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from agents.forms import UserProfileForm
from agents.selectors import (
    NotAnActiveAgent,
    active_agent_for_user,
    agent_get_for_user,
    user_profile_get,
)
from agents.services import user_time_zone_set
from agents.softphone_sounds import sound_urls
from voiceproject.twilio_ids import E164_REGEX, IDENTITY_REGEX

# The Voice JavaScript SDK served from our static files (see its VERSION file there).
VOICE_SDK_PATH = "vendor/twilio-voice-sdk/twilio.min.js"
# More than any phone number or client identity (121 characters) is never dialled anyway.
DIAL_MAX_LENGTH = 200
# What the softphone does to the call it is in (calls/hub/urls.py), each URL with a slot for
# the conference's name.
HUB_ACTIONS = (
    "hold",
    "resume",
    "transfer",
    "consult",
    "complete",
    "cancel-consult",
    "add",
    "remove",
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show who the user is to the voice system and where to go next."""
    return render(request, "home.html", {"agent": agent_get_for_user(user=request.user)})


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The user's own choices: the time zone of her pages, exports and API answers."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = UserProfileForm(request.POST or None, instance=user_profile_get(user=user))
    if request.method == "POST" and form.is_valid():
        time_zone = form.cleaned_data["time_zone"]
        user_time_zone_set(user=user, time_zone=time_zone)
        shown = time_zone or f"the server's time zone ({settings.TIME_ZONE})"
        messages.success(request, f"Times are now shown in {shown}.")
        return redirect("profile")
    return render(request, "agents/profile.html", {"form": form})


@login_required
def phone(request: HttpRequest) -> HttpResponse:
    """The agents' softphone; a user who may not have one is told why."""
    try:
        agent = active_agent_for_user(user=request.user, purpose="use the softphone")
    except NotAnActiveAgent as error:
        return render(request, "agents/phone_unavailable.html", {"reason": str(error)}, status=403)
    login_again = f"{reverse('login')}?{urlencode({'next': reverse('phone')})}"
    config = {
        "identity": agent.identity,
        "incomingAllowed": agent.incoming_allowed,
        "csrfToken": get_token(request),
        "urls": {
            "token": reverse("api-access-token"),
            "presence": reverse("api-presence"),
            "wrapUp": reverse("api-presence-wrap-up"),
            "agents": reverse("api-agents"),
            "dispositions": reverse("api-dispositions"),
            # The family of any leg: the page puts its call's SID in place of "SID".
            "familyDisposition": reverse("api-family-disposition", args=["SID"]),
            "login": login_again,
            "hubCurrent": reverse("api-hub-current"),
            "hubCancel": reverse("api-hub-cancel-call", kwargs={"sid": "SID"}),
            "hub": {
                action: reverse(f"api-hub-{action}", kwargs={"name": "CONFERENCE"})
                for action in HUB_ACTIONS
            },
        },
        "heartbeatSeconds": settings.PRESENCE_TIMEOUT / 3,
        "patterns": {"e164": E164_REGEX, "identity": IDENTITY_REGEX},
        "dialling": national_dialling(agent.caller_id),
        "sounds": sound_urls(),
        # A number or colleague to call back (from the voicemail inbox), put in the Dial field
        # for the agent to check and call; the page reads it as it reads anything typed there.
        "dial": request.GET.get("dial", "")[:DIAL_MAX_LENGTH],
    }
    context = {"agent": agent, "config": config, "voice_sdk": static(VOICE_SDK_PATH)}
    return render(request, "agents/phone.html", context)


def national_dialling(caller_id: str) -> dict[str, str]:
    """How numbers dialled without a country code are read: as in the caller ID's country."""
    if not caller_id:
        return {"countryCallingCode": "", "nationalPrefix": ""}
    number = phonenumbers.parse(caller_id, None)
    region = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
    return {
        "countryCallingCode": str(number.country_code),
        "nationalPrefix": (metadata.national_prefix if metadata else None) or "",
    }
