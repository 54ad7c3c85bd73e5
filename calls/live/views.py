"""The live board page: a shell that live.js fills from /api/calls/live/ and keeps current."""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from calls.access import may_monitor_calls
from calls.log.views import call_log_required
from voiceproject.time_zones import zone_abbreviations

# How often the page asks for news: within the 2 s a supervisor expects, one cheap request
# (usually a bodyless 304) per second per open board.
POLL_MILLISECONDS = 1000


@require_GET
@call_log_required
def live_board_page(request: HttpRequest) -> HttpResponse:
    # The page writes its times in the user's zone, 24-hour and named as every other page
    # names them: it needs the zone, and the zone's names by offset.
    zone = timezone.get_current_timezone()
    return render(
        request,
        "calls/live.html",
        {
            "poll_milliseconds": POLL_MILLISECONDS,
            "time_zone": timezone.get_current_timezone_name(),
            "zone_names": json.dumps(zone_abbreviations(zone, around=timezone.now())),
            # Supervisors get Listen, Whisper, Barge and Leave on each call in a conference.
            "may_monitor": may_monitor_calls(request.user),
        },
    )
