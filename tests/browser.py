"""Headless Debian Chromium for browser tests: where it is, how it starts, logging in."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from django.db import connection
from playwright.sync_api import Page

from tests.factories import DEFAULT_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Calls need a microphone: a fake one, allowed without asking.
MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Nothing but the live server on loopback answers: every other host name fails to resolve.
LOOPBACK_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def log_in(page: Page, url: str, username: str) -> None:
    """Open url, which sends an anonymous user to the login form, and log in."""
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")


def outside_the_browser_loop(function: Callable[[], T]) -> T:
    """Run ORM code while Playwright's event loop runs in this thread (Django refuses it
    there): in a thread of its own, whose connection is closed so the test database can go."""

    def run() -> T:
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(run).result()


def eventually(function: Callable[[], T], expected: T, *, timeout: float = 5.0) -> T:
    """Read with `function` (outside the browser's loop) until it gives `expected`, or give up
    after `timeout` seconds and return the last value: for writes the browser makes after the
    page is gone, such as navigator.sendBeacon's."""
    deadline = time.monotonic() + timeout
    while (value := outside_the_browser_loop(function)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value
