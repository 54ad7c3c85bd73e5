"""The TwiML that puts a leg in its family's conference."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from calls.constants import CONFERENCE_CALLBACK_EVENTS
from calls.deliveries.signatures import public_url

HOLD_MUSIC = "voice/hold-music.wav"

RECORDING_CALLBACK_EVENTS = "in-progress completed absent"


@dataclass(frozen=True)
class HubUrls:
    """Absolute URLs Twilio requests about a conference and the legs the hub adds."""

    conference_callback: str
    status_callback: str
    recording_callback: str
    hold_music: str

    def status_callback_for(self, family_sid: str) -> str:
        """A status callback that links a leg with no ParentCallSid to the family."""
        return f"{self.status_callback}?{urlencode({'family': family_sid})}"

    def recording_callback_for(self, family_sid: str) -> str:
        return f"{self.recording_callback}?{urlencode({'family': family_sid})}"


def hub_urls_for(request: HttpRequest) -> HubUrls:
    """The hub's URLs as Twilio must request them (see public_url)."""
    return HubUrls(
        conference_callback=public_url(request, reverse("webhooks:conference")),
        status_callback=public_url(request, reverse("webhooks:status")),
        recording_callback=public_url(request, reverse("webhooks:recording")),
        hold_music=settings.HOLD_MUSIC_URL or public_url(request, static(HOLD_MUSIC)),
    )


def twiml_join_hub(
    *,
    name: str,
    family_sid: str,
    label: str,
    end_on_exit: bool,
    record: bool,
    urls: HubUrls,
) -> str:
    """Join the conference: it starts with this leg, reports its events to us (the first
    participant's callback settings apply to the whole conference, so every leg carries
    them) and is recorded as one file when the family's recording policy asks for it."""
    options: dict[str, str | bool] = {}
    if record:
        options.update(
            record="record-from-start",
            recording_status_callback=urls.recording_callback_for(family_sid),
            recording_status_callback_event=RECORDING_CALLBACK_EVENTS,
            recording_status_callback_method="POST",
        )
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        name,
        participant_label=label,
        start_conference_on_enter=True,
        end_conference_on_exit=end_on_exit,
        beep=False,
        wait_url=urls.hold_music,
        wait_method="GET",
        status_callback=urls.conference_callback,
        status_callback_event=CONFERENCE_CALLBACK_EVENTS,
        status_callback_method="POST",
        **options,
    )
    return str(response)
