"""The music a queue's caller hears between announcements, served from our static files.

Each play is one turn of the wait loop, so its length is how soon a waiting caller notices
a free agent. `python -m inbound.hold_music` synthesises it into the static files; a test
checks that the committed file is exactly what it makes.
"""

import sys
from pathlib import Path

from agents.softphone_sounds import Sound, sound_wav

HOLD_MUSIC_PATH = "voice/queue/hold-music.wav"

# Four bars of slow broken chords (C, A minor, F, G), half a second a note: eight seconds.
_CHORDS = [(262, 330, 392), (220, 262, 330), (175, 220, 262), (196, 247, 294)]
HOLD_MUSIC: Sound = [(0.5, (note,)) for chord in _CHORDS for note in (*chord, chord[1])]


def hold_music_write(static_root: Path) -> None:
    path = static_root / HOLD_MUSIC_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sound_wav(HOLD_MUSIC))


if __name__ == "__main__":
    hold_music_write(Path(sys.argv[1] if len(sys.argv) > 1 else "voiceproject/static"))
