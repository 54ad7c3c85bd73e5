"""Project-wide views that belong to no single app."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

logger = logging.getLogger(__name__)

# The site's icon among the static files, which every page's <head> links.
FAVICON = "voice/favicon.svg"


def database_answers() -> tuple[bool, str]:
    """Whether the database answers a query, and in words what happened; the full message
    (host, port, user) goes to the log, never to whoever can reach a public health check."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.error("Health check: the database did not answer: %s", error)
        return False, f"unavailable ({type(error).__name__})"
    return True, "ok"


@never_cache
@require_safe
def healthz(request):
    """Answer 200 when the database answers a query, 503 naming what failed otherwise.

    HEAD too, for load balancers and monitors that check that way: the same status, no body.
    """
    answers, text = database_answers()
    return JsonResponse(
        {"status": "ok" if answers else "error", "database": text}, status=200 if answers else 503
    )


# Browsers send one small JSON document per violation; anything longer is cut in the log.
CSP_REPORT_LOGGED_BYTES = 4096


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log a Content-Security-Policy violation the browser reports (the policy's report-uri).

    Anyone can post here, so the body is logged as text, cut short, and never parsed.
    """
    body = request.read(CSP_REPORT_LOGGED_BYTES + 1)
    logger.warning(
        "Content-Security-Policy violation: %s%s",
        body[:CSP_REPORT_LOGGED_BYTES].decode("utf-8", "replace"),
        " (cut)" if len(body) > CSP_REPORT_LOGGED_BYTES else "",
    )
    return HttpResponse(status=204)


@cache_control(max_age=86400)
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Send browsers that ask /favicon.ico on their own to the icon every page links.

    Not permanent: the icon's static URL carries its content's hash and changes with it.
    """
    return HttpResponseRedirect(static(FAVICON))
