"""Serve the two hot paths, Twilio's webhooks and the AccessToken endpoint, through a Django
handler with only the middleware they need; every other path through the full stack.

Django builds one middleware chain per handler, from settings.MIDDLEWARE, and runs all of it
on every request. A webhook answered with 204 has no use for sessions, messages, CSRF cookies,
clickjacking or Content-Security-Policy headers, yet these cost more than checking its
signature. So the WSGI application is a dispatcher: an exact path from HOT_PATH_MIDDLEWARE
goes to a second handler built with that path's own list, anything else to Django's usual
handler. The views, URLs and settings are the same in both.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse

StartResponse = Callable[..., Any]
WsgiApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler with the given middleware instead of settings.MIDDLEWARE."""

    def __init__(self, *, middleware: list[str]) -> None:
        self.middleware = middleware
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings; this runs once, while the process starts and
        # before it serves anything, so no request ever sees the swapped value.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class HotPathDispatcher:
    """A WSGI application that hands each hot path to its lean handler, the rest to `full`."""

    def __init__(self, *, full: WsgiApplication, lean: dict[str, WsgiApplication]) -> None:
        self.full = full
        self.lean = lean

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self.lean.get(environ.get("PATH_INFO", ""), self.full)
        return handler(environ, start_response)


def hot_path_application(*, full: WsgiApplication) -> HotPathDispatcher:
    """The dispatcher for settings.HOT_PATH_MIDDLEWARE: URL names, each with its middleware.

    Paths are exact, so a URL that gains a sub-path stays on the full stack; handlers with the
    same list are shared.
    """
    handlers: dict[tuple[str, ...], LeanWSGIHandler] = {}
    lean: dict[str, WsgiApplication] = {}
    for url_name, middleware in settings.HOT_PATH_MIDDLEWARE.items():
        key = tuple(middleware)
        if key not in handlers:
            handlers[key] = LeanWSGIHandler(middleware=list(middleware))
        lean[reverse(url_name)] = handlers[key]
    return HotPathDispatcher(full=full, lean=lean)
