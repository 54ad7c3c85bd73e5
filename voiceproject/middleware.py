"""Requests refused or answered before any view reads them, HEAD answered as HTTP says, and
webhooks counted."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import reverse

from voiceproject.metrics import webhook_request_observe
from voiceproject.metrics_view import metrics
from voiceproject.readiness import readyz
from voiceproject.views import healthz


def refuse_nul_bytes(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Answer 400 to a path or query parameter holding a NUL byte (%00).

    No URL of ours has a use for one, and PostgreSQL refuses NUL in text, so a view that
    looked one up would fail with a 500. Form fields are checked by their own form fields,
    which refuse NUL already; webhooks check theirs where they are parsed.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        # Without a query string, request.GET would be parsed for nothing (the hot paths).
        query = (
            ((name, *values) for name, values in request.GET.lists())
            if request.META.get("QUERY_STRING")
            else ()
        )
        if "\x00" in request.path or any("\x00" in text for item in query for text in item):
            return HttpResponseBadRequest(
                "The address contains a NUL byte.", content_type="text/plain; charset=utf-8"
            )
        return get_response(request)

    return middleware


def head_answered_without_body(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Answer HEAD with GET's status and headers and no body.

    Django renders a HEAD request as it renders GET and leaves the body to the server: HTTP
    forbids sending it, and gunicorn drops it with a warning in its log for every such request.
    A streamed answer is not run at all (today's streamed views, the CSV export and the
    recordings, take GET only).
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.method == "HEAD":
            if isinstance(response, StreamingHttpResponse):
                response.streaming_content = iter(())
            else:
                response.content = b""
        return response

    return middleware


def health_checks_for_any_host(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Answer /healthz, /readyz and /metrics before anything reads the Host header, a session
    or redirects to HTTPS, whatever host they name.

    Load balancers, the proxy's own probe and Prometheus ask by address (Host:
    10.0.0.5:8000) over plain HTTP, and ALLOWED_HOSTS rightly lists no address:
    CommonMiddleware would answer 400 and log a traceback each time. The checks build no URL
    and reveal nothing a host check protects (/metrics guards itself with its token or address
    list); every other path still refuses a host ALLOWED_HOSTS does not list.
    """
    checks = {reverse("healthz"): healthz, reverse("readyz"): readyz, reverse("metrics"): metrics}

    def middleware(request: HttpRequest) -> HttpResponse:
        check = checks.get(request.path_info)
        return check(request) if check else get_response(request)

    return middleware


def webhook_metrics(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Count each request to a Twilio webhook URL by URL name and status, and time it.

    Here rather than in the views so that every answer counts, refusals included: a forged
    signature's 403, a malformed form's 400, a database outage's 503.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = get_response(request)
        match = request.resolver_match
        if match is not None and match.namespace == "webhooks":
            webhook_request_observe(
                endpoint=match.url_name or "",
                status=response.status_code,
                seconds=time.perf_counter() - started,
            )
        return response

    return middleware
