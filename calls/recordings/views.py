"""Listening: the audio of a recording through our server, and agents' voicemail inbox."""

import logging

from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from calls.log.access import can_view_call_log
from calls.recordings.access import (
    is_voicemail_owner,
    recordings_visible_to,
    voicemail_inbox_of,
)
from calls.recordings.media import (
    PASSED_THROUGH_HEADERS,
    RecordingMediaMissing,
    RecordingMediaUnavailable,
    media_chunks,
    recording_media_open,
)
from calls.recordings.writer import recording_mark_listened
from voiceproject.streams import stream_limited
from voiceproject.twilio_rest import TwilioCredentialsRejected

logger = logging.getLogger(__name__)
VOICEMAIL_PAGE_SIZE = 100


@require_GET
@login_required
@stream_limited
def recording_media(request: HttpRequest, sid: str, extension: str) -> HttpResponseBase:
    """Stream the audio from Twilio, honouring Range; 404 for a recording the user may not
    hear, or whose media is gone."""
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


@require_GET
@user_passes_test(can_view_call_log)
def voicemail_inbox(request: HttpRequest) -> HttpResponse:
    """An agent's voicemail and that of the agent's numbers; everyone's for supervisors."""
    voicemail = voicemail_inbox_of(request.user).filter(deleted_at__isnull=True)
    return render(
        request,
        "recordings/voicemail.html",
        {"voicemail": voicemail[:VOICEMAIL_PAGE_SIZE], "page_size": VOICEMAIL_PAGE_SIZE},
    )
