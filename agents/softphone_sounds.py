"""The Voice SDK's ringtone, call and keypad sounds, served from our own static files.

Without its `sounds` option the SDK fetches each sound from sdk.twilio.com (fifteen requests
per page, each a console error where Twilio's CDN is out of reach); its npm package ships
none. `python -m agents.softphone_sounds` synthesises ours into the static files, and a test
checks that the committed files are exactly what it makes.
"""

import io
import math
import struct
import sys
import wave
from pathlib import Path

from django.templatetags.static import static

SOUNDS_DIRECTORY = "voice/sounds"
SAMPLE_RATE = 8000
AMPLITUDE = 0.3 * 32767
FADE_SECONDS = 0.005

# The keypad's standard dual tones (ITU-T Q.23): key -> (row Hz, column Hz).
DTMF = {
    "1": (697, 1209),
    "2": (697, 1336),
    "3": (697, 1477),
    "4": (770, 1209),
    "5": (770, 1336),
    "6": (770, 1477),
    "7": (852, 1209),
    "8": (852, 1336),
    "9": (852, 1477),
    "0": (941, 1336),
    "*": (941, 1209),
    "#": (941, 1477),
}
RING = (440, 480)

# A sound is a list of (seconds, frequencies); no frequencies is silence.
Sound = list[tuple[float, tuple[int, ...]]]

# Every name the SDK's `sounds` option takes (Device.SoundName), and what each sounds like.
SOUNDS: dict[str, Sound] = {
    # Loops while a call rings: two short rings, then a pause.
    "incoming": [(0.4, RING), (0.2, ()), (0.4, RING), (2.0, ())],
    # Placing a call, and the end of one: a rising and a falling pair of notes.
    "outgoing": [(0.12, (523,)), (0.12, (784,))],
    "disconnect": [(0.12, (784,)), (0.12, (659,)), (0.12, (523,))],
    **{f"dtmf{key}": [(0.2, DTMF[key])] for key in "0123456789"},
    "dtmfs": [(0.2, DTMF["*"])],
    "dtmfh": [(0.2, DTMF["#"])],
}


def sound_path(name: str) -> str:
    """The sound's path among the static files."""
    return f"{SOUNDS_DIRECTORY}/{name}.wav"


def sound_urls() -> dict[str, str]:
    """The SDK's `sounds` option: each sound's URL on this server."""
    return {name: static(sound_path(name)) for name in SOUNDS}


def _samples(seconds: float, frequencies: tuple[int, ...]) -> list[int]:
    count = round(seconds * SAMPLE_RATE)
    fade = round(FADE_SECONDS * SAMPLE_RATE)
    samples = []
    for n in range(count):
        level = sum(math.sin(2 * math.pi * f * n / SAMPLE_RATE) for f in frequencies)
        # Fade each tone in and out: a tone cut off mid-wave clicks.
        envelope = min(1.0, n / fade, (count - 1 - n) / fade)
        samples.append(round(AMPLITUDE * envelope * level / max(1, len(frequencies))))
    return samples


def sound_wav(sound: Sound) -> bytes:
    """The sound as a WAV file: 8 kHz, 16-bit, mono, which every browser decodes."""
    samples = [sample for part in sound for sample in _samples(*part)]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def sounds_write(static_root: Path) -> None:
    """Write every sound's WAV file under the static files' root."""
    for name, sound in SOUNDS.items():
        path = static_root / sound_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sound_wav(sound))


if __name__ == "__main__":
    sounds_write(Path(sys.argv[1] if len(sys.argv) > 1 else "voiceproject/static"))
