"""Serve the two hot paths, Twilio's webhooks and the AccessToken endpoint, through a Django
handler with only the middleware they need; every other path through the full stack.

Django builds one middleware chain per handler, from settings.MIDDLEWARE, and runs all of it
on every request. A webhook answered with 204 has no use for sessions, messages, CSRF cookies,
clickjacking or Content-Security-Policy headers, yet these cost more than checking its
signature. So the WSGI application is a dispatcher: an exact path from HOT_PATH_MIDDLEWARE
goes to a second handler built with that path's own list (API_TOKEN_HOT_PATH_MIDDLEWARE's
when the request sends an API token), anything else to Django's usual handler. The views,
URLs and settings are the same in both.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import ResolverMatch, resolve, reverse

from tokens.authentication import decided_by_api_token

StartResponse = Callable[..., Any]
WsgiApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler with the given middleware instead of settings.MIDDLEWARE, for
    the given exact paths, each resolved once."""

    def __init__(self, *, middleware: list[str], paths: list[str]) -> None:
        self.middleware = middleware
        super().__init__()
        # Resolving the URL against the whole URLconf cost a tenth of a token request; the
        # dispatcher sends only these paths here. The matches are only read, never changed.
        self.matches = {path: resolve(path) for path in paths}

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings; this runs once, while the process starts and
        # before it serves anything, so no request ever sees the swapped value.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = self.matches.get(request.path_info)
        if match is None:
            return super().resolve_request(request)
        request.resolver_match = match
        return match


class HotPathDispatcher:
    """A WSGI application that hands each hot path to its lean handler, the rest to `full`."""

    def __init__(
        self,
        *,
        full: WsgiApplication,
        lean: dict[str, WsgiApplication],
        lean_with_api_token: dict[str, WsgiApplication],
    ) -> None:
        self.full = full
        self.lean = lean
        self.lean_with_api_token = lean_with_api_token

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        handler = self.lean_with_api_token.get(path)
        if handler is None or not decided_by_api_token(environ.get("HTTP_AUTHORIZATION", "")):
            handler = self.lean.get(path, self.full)
        return handler(environ, start_response)


def hot_path_application(*, full: WsgiApplication) -> HotPathDispatcher:
    """The dispatcher for settings.HOT_PATH_MIDDLEWARE and API_TOKEN_HOT_PATH_MIDDLEWARE: URL
    names, each with its middleware.

    Paths are exact, so a URL that gains a sub-path stays on the full stack; paths with the
    same list share one handler.
    """
    paths: dict[tuple[str, ...], list[str]] = {}
    for table in (settings.HOT_PATH_MIDDLEWARE, settings.API_TOKEN_HOT_PATH_MIDDLEWARE):
        for url_name, middleware in table.items():
            paths.setdefault(tuple(middleware), []).append(reverse(url_name))
    handlers = {
        key: LeanWSGIHandler(middleware=list(key), paths=key_paths)
        for key, key_paths in paths.items()
    }

    def routes(table: dict[str, list[str]]) -> dict[str, WsgiApplication]:
        return {reverse(name): handlers[tuple(middleware)] for name, middleware in table.items()}

    return HotPathDispatcher(
        full=full,
        lean=routes(settings.HOT_PATH_MIDDLEWARE),
        lean_with_api_token=routes(settings.API_TOKEN_HOT_PATH_MIDDLEWARE),
    )
