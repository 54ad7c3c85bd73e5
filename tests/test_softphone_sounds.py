"""The softphone's sounds come from our static files, as agents.softphone_sounds makes them."""

import wave
from pathlib import Path

import pytest
from django.conf import settings

from agents.softphone_sounds import SOUNDS, sound_path, sound_wav
from tests.factories import AgentFactory

STATIC = Path(settings.BASE_DIR, "voiceproject", "static")


@pytest.mark.parametrize("name", SOUNDS)
def test_each_committed_sound_is_the_one_synthesised(name):
    assert (STATIC / sound_path(name)).read_bytes() == sound_wav(SOUNDS[name])


@pytest.mark.parametrize("name", SOUNDS)
def test_each_sound_is_a_short_mono_wav(name):
    with wave.open(str(STATIC / sound_path(name))) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
    assert 0.1 < seconds <= 3


@pytest.mark.django_db
def test_the_phone_page_hands_the_sdk_every_sound_and_plays_media_from_our_origin_only(client):
    agent = AgentFactory()
    client.force_login(agent.user)
    response = client.get("/phone/")
    assert set(response.context["config"]["sounds"]) == set(SOUNDS)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["media-src"] == "'self'"
