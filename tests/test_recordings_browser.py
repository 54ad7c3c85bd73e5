"""An analyst plays a recording on the family page, and an agent opens her voicemail inbox,
in headless Chromium (Debian's package) against a live server and the fake Twilio API."""

import io
import math
import struct
import wave

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, log_in
from tests.factories import (
    AgentFactory,
    CallFactory,
    PhoneNumberFactory,
    RecordingFactory,
    UserFactory,
)
from voiceproject.roles import ANALYSTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def two_seconds_of_tone() -> bytes:
    """A short WAV file Chromium can decode: 440 Hz at 8 kHz, 16-bit mono."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
                for n in range(16000)
            )
        )
    return buffer.getvalue()


def duration_when_loaded(page, selector: str) -> float:
    """Wait until the <audio> element has its metadata from our server; its duration.

    An event listener rather than wait_for_function, whose polling evaluates a string: the
    page's Content-Security-Policy refuses eval.
    """
    return page.locator(selector).evaluate(
        """audio => new Promise(resolve => {
            if (audio.readyState >= 1) resolve(audio.duration);
            else audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
        })"""
    )


def test_an_analyst_plays_a_recording_and_an_agent_opens_her_voicemail(live_server, fake_twilio):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tone = two_seconds_of_tone()
    recorded = RecordingFactory(call=CallFactory(), duration=2, channels=2)
    alice = AgentFactory(identity="alice", user=UserFactory(username="alice"))
    line = PhoneNumberFactory()
    line.agents.add(alice)
    missed = CallFactory(to_number=line.number, unanswered=True, offered_to=["alice"])
    voicemail = RecordingFactory(
        call=missed, kind="voicemail", voicemail_number=line, duration=2, channels=1
    )
    for recording in (recorded, voicemail):
        fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=tone)
    UserFactory(username="ana", groups=[ANALYSTS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, f"{live_server.url}/calls/{recorded.call.sid}/", "ana")
        player = f"#recording-{recorded.sid} audio"
        with page.expect_response(
            lambda response: f"/recordings/{recorded.sid}" in response.url
        ) as media:
            page.locator(player).evaluate("audio => audio.play().catch(() => null)")
        assert media.value.status in (200, 206)
        assert media.value.headers["content-type"] == "audio/mpeg"
        assert duration_when_loaded(page, player) == pytest.approx(2.0, abs=0.1)
        page.screenshot(path=SCREENSHOTS / "call-recording.png", full_page=True)
        page.context.clear_cookies()

        log_in(page, f"{live_server.url}/recordings/voicemail/", "alice")
        expect(page.locator("h1")).to_have_text("Voicemail")
        expect(page.locator(".voicemail.not-listened")).to_have_count(1)
        message = ".voicemail audio"
        page.locator(message).evaluate("audio => { audio.preload = 'auto'; audio.load(); }")
        assert duration_when_loaded(page, message) == pytest.approx(2.0, abs=0.1)
        page.screenshot(path=SCREENSHOTS / "voicemail-inbox.png", full_page=True)
        page.reload()
        expect(page.locator(".voicemail.listened")).to_have_count(1)
        browser.close()


@pytest.mark.parametrize(("width", "suffix"), [(1280, ""), (390, "-390")])
def test_the_player_says_when_twilio_does_not_serve_the_audio_and_tries_again(
    live_server, fake_twilio, settings, width, suffix
):
    settings.TWILIO_API_RETRIES = 0
    recording = RecordingFactory(call=CallFactory(), duration=2, channels=2)
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=two_seconds_of_tone())
    # Every request for the audio fails at Twilio: our server answers 502.
    fake_twilio.fail_next(50, 500)
    UserFactory(username="ana", groups=[ANALYSTS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        with page.expect_response(lambda response: "/recordings/" in response.url) as media:
            log_in(page, f"{live_server.url}/calls/{recording.call.sid}/", "ana")
        assert media.value.status == 502
        problem = page.locator(f"#recording-{recording.sid} .player-error")
        expect(problem).to_be_visible()
        expect(problem).to_contain_text("The recording could not be fetched from Twilio.")
        page.screenshot(
            path=SCREENSHOTS / f"call-recording-unavailable{suffix}.png", full_page=True
        )

        fake_twilio.faults.clear()
        problem.get_by_role("button", name="Try again").click()
        expect(problem).to_be_hidden()
        duration = duration_when_loaded(page, f"#recording-{recording.sid} audio")
        browser.close()

    assert duration == pytest.approx(2.0, abs=0.1)
