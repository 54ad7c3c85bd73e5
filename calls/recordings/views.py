"""Listening: the audio of a recording through our server, and agents' voicemail inbox."""

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from agents.selectors import NotAnActiveAgent, active_agent_for_user
from calls.access import can_view_call_log
from calls.models import Call, Recording
from calls.recordings.deletion import recording_delete
from calls.recordings.media import (
    PASSED_THROUGH_HEADERS,
    RecordingMediaMissing,
    RecordingMediaUnavailable,
    media_chunks,
    recording_media_open,
)
from calls.recordings.selectors import (
    is_voicemail_owner,
    recordings_visible_to,
    voicemail_inbox_of,
)
from calls.recordings.writer import recording_mark_listened
from tokens.authentication import api_token_or_login_required
from voiceproject.streams import stream_limited
from voiceproject.twilio_ids import client_identity, is_e164
from voiceproject.twilio_rest import TwilioCredentialsRejected, twilio_rest_client

logger = logging.getLogger(__name__)
VOICEMAIL_PAGE_SIZE = 100


@require_GET
@api_token_or_login_required
@stream_limited
def recording_media(request: HttpRequest, sid: str, extension: str) -> HttpResponseBase:
    """Stream the audio from Twilio, honouring Range, to a browser's session or an app's API
    token; 404 for a recording the user may not hear, or whose media is gone."""
    recording = recordings_visible_to(request.user).filter(sid=sid, deleted_at__isnull=True).first()
    if recording is None:
        raise Http404("No recording with this SID that you may hear.")
    try:
        upstream = recording_media_open(
            sid=sid, extension=extension, range_header=request.headers.get("Range", "")
        )
    except RecordingMediaMissing as error:
        raise Http404("Twilio no longer has this recording.") from error
    except (RecordingMediaUnavailable, TwilioCredentialsRejected) as error:
        logger.warning("Could not stream recording %s: %s", sid, error)
        return HttpResponse(
            "Twilio did not serve this recording; try again later.",
            status=502,
            content_type="text/plain; charset=utf-8",
        )
    if is_voicemail_owner(request.user, recording):
        recording_mark_listened(recording_id=recording.pk)
    response = StreamingHttpResponse(media_chunks(upstream), status=upstream.status_code)
    for name in PASSED_THROUGH_HEADERS:
        if name in upstream.headers:
            response[name] = upstream.headers[name]
    response["Cache-Control"] = "private, no-store"
    return response


@dataclass(frozen=True)
class Caller:
    """Who left a voicemail, in words, and what the softphone dials to call back ("" when
    the caller cannot be called: withheld or unknown)."""

    words: str
    dial: str


def voicemail_caller(call: Call) -> Caller:
    """A colleague by name and identity, or the caller's number as Twilio sent it."""
    identity = client_identity(call.from_number)
    if identity is not None:
        agent = call.agent if call.agent and call.agent.identity == identity else None
        return Caller(
            words=f"{agent.display_name} ({identity})" if agent else identity, dial=identity
        )
    if is_e164(call.from_number):
        return Caller(words=call.from_number, dial=call.from_number)
    return Caller(words=call.from_number or "an unknown caller", dial="")


@require_GET
@user_passes_test(can_view_call_log)
def voicemail_inbox(request: HttpRequest) -> HttpResponse:
    """An agent's voicemail and that of the agent's numbers; everyone's for supervisors."""
    voicemail = voicemail_inbox_of(request.user).filter(deleted_at__isnull=True)
    try:
        active_agent_for_user(user=request.user, purpose="call back")
        can_call_back = True
    except NotAnActiveAgent:
        can_call_back = False
    return render(
        request,
        "recordings/voicemail.html",
        {
            "voicemail": [
                (message, voicemail_caller(message.call))
                for message in voicemail[:VOICEMAIL_PAGE_SIZE]
            ],
            "page_size": VOICEMAIL_PAGE_SIZE,
            "can_call_back": can_call_back,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def voicemail_delete(request: HttpRequest, sid: str) -> HttpResponse:
    """Ask (GET), then delete (POST) one voicemail at Twilio; only its owner or a
    supervisor may. A failure at Twilio keeps it, playable, and says why."""
    message: Recording | None = (
        voicemail_inbox_of(request.user).filter(sid=sid, deleted_at__isnull=True).first()
    )
    if message is None:
        raise Http404("No voicemail with this SID that you may see.")
    if not message.deletable:  # type: ignore[attr-defined]  # voicemail_inbox_of
        raise PermissionDenied("Only the voicemail's owner or a supervisor may delete it.")
    caller = voicemail_caller(message.call)
    if request.method == "GET":
        return render(
            request, "recordings/voicemail_delete.html", {"message": message, "caller": caller}
        )
    problem = recording_delete(client=twilio_rest_client(), recording_id=message.pk, sid=sid)
    if problem is None:
        messages.success(
            request,
            f"Deleted the voicemail from {caller.words}: Twilio no longer has the recording, "
            "so nobody can play it again.",
        )
    else:
        logger.warning("Could not delete voicemail %s at Twilio: %s", sid, problem)
        messages.error(
            request,
            f"Twilio did not delete the voicemail from {caller.words}, so it is kept; "
            "try again later.",
        )
    return redirect("recordings:voicemail")
