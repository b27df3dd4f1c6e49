"""Two sounds anyone can tell apart: a rising two-note chime and a low double buzz.

They are synthesised once into the kiosk's cache directory, so no binary is shipped
and a library can replace them with its own files of the same names.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path

from kiosk.session.viewdata import Sound

log = logging.getLogger(__name__)

RATE = 22050
# (frequency Hz, seconds) per note; 0 Hz is silence.
NOTES = {
    Sound.SUCCESS: ((880, 0.09), (0, 0.02), (1318, 0.16)),
    Sound.ERROR: ((196, 0.16), (0, 0.06), (196, 0.22)),
}


def _samples(notes: tuple[tuple[int, float], ...]) -> bytes:
    frames = bytearray()
    for frequency, seconds in notes:
        count = int(RATE * seconds)
        for index in range(count):
            # A short fade in and out keeps the speaker from clicking.
            envelope = min(1.0, index / 200, (count - index) / 200)
            value = math.sin(2 * math.pi * frequency * index / RATE) if frequency else 0.0
            if frequency and frequency < 300:
                value = 1.0 if value >= 0 else -1.0  # a buzz, not a hum
            frames += struct.pack("<h", int(value * envelope * 9000))
    return bytes(frames)


def sound_files(directory: Path) -> dict[Sound, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for sound, notes in NOTES.items():
        path = directory / f"{sound.value}.wav"
        if not path.exists():
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(RATE)
                out.writeframes(_samples(notes))
        files[sound] = path
    return files
