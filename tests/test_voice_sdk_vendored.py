"""The Voice JavaScript SDK we serve is exactly the published build we say it is."""

import hashlib
from pathlib import Path

from django.conf import settings

from agents.views import VOICE_SDK_PATH

SDK_DIRECTORY = Path(settings.BASE_DIR, "voiceproject", "static", VOICE_SDK_PATH).parent
# sha256 of package/dist/twilio.min.js in @twilio/voice-sdk-2.18.5.tgz from the npm registry.
SDK_SHA256 = "35d3cb1b22e309f9884724a89250aecd2de4f1556ad7b67a7bc5e06c73dcb74a"


def test_the_vendored_sdk_is_the_published_2_18_5_build():
    digest = hashlib.sha256((SDK_DIRECTORY / "twilio.min.js").read_bytes()).hexdigest()
    assert digest == SDK_SHA256
    assert (SDK_DIRECTORY / "VERSION").read_text().startswith("@twilio/voice-sdk 2.18.5\n")


def test_the_sdk_ships_with_its_licence():
    assert "Apache License" in (SDK_DIRECTORY / "LICENSE.md").read_text()
