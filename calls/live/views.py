"""The live board page: a shell that live.js fills from /api/calls/live/ and keeps current."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from calls.log.views import call_log_required

# How often the page asks for news: within the 2 s a supervisor expects, one cheap request
# (usually a bodyless 304) per second per open board.
POLL_MILLISECONDS = 1000


@require_GET
@call_log_required
def live_board_page(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/live.html", {"poll_milliseconds": POLL_MILLISECONDS})
