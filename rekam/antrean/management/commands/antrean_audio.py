"""Make the board's audio clips: Indonesian words spoken by espeak-ng, and a chime, as Opus.

The clips ship with the project (``static/antrean/audio``); this command only remakes them,
e.g. with another voice. Needs ``espeak-ng`` and ``opusenc`` (Debian: espeak-ng, opus-tools).
"""

from __future__ import annotations

import array
import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rekam.antrean.speech import CHIME, CLIP_WORDS

RATE = 22050
# Samples quieter than this (of 32767) at either end are cut, keeping MARGIN seconds.
SILENCE = 300
MARGIN = 0.03


def _trim(samples: array.array[int]) -> array.array[int]:
    loud = [i for i, s in enumerate(samples) if abs(s) > SILENCE]
    if not loud:
        return samples
    pad = int(MARGIN * RATE)
    return samples[max(0, loud[0] - pad) : min(len(samples), loud[-1] + pad)]


def _write(path: Path, samples: array.array[int], rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def _chime() -> array.array[int]:
    """Two soft bell tones (E5 then C5) with a decaying envelope."""
    out = array.array("h")
    for freq, seconds in ((659.25, 0.32), (523.25, 0.55)):
        n = int(seconds * RATE)
        for i in range(n):
            t = i / RATE
            envelope = math.exp(-4.0 * t) * min(1.0, i / (0.01 * RATE))
            value = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)
            out.append(int(9000 * envelope * value))
    return out


class Command(BaseCommand):
    help = "Remake the board's spoken Indonesian clips (espeak-ng + opusenc)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--voice", default="id", help="espeak-ng voice (default: id)")
        parser.add_argument("--speed", type=int, default=135, help="words per minute")
        parser.add_argument("--bitrate", type=int, default=20, help="Opus kbit/s")
        parser.add_argument(
            "--out",
            default=str(Path(settings.BASE_DIR) / "static" / "antrean" / "audio"),
            help="folder for the .opus files",
        )

    def handle(self, *args: object, **options: object) -> None:
        for tool in ("espeak-ng", "opusenc"):
            if shutil.which(tool) is None:
                raise CommandError(f"{tool} tidak ditemukan (apt-get install espeak-ng opus-tools)")
        out = Path(str(options["out"]))
        out.mkdir(parents=True, exist_ok=True)
        total = 0
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            clips: dict[str, array.array[int]] = {CHIME: _chime()}
            for name, words in CLIP_WORDS.items():
                raw = work / f"{name}.raw.wav"
                subprocess.run(
                    [
                        "espeak-ng",
                        "-v",
                        str(options["voice"]),
                        "-s",
                        str(options["speed"]),
                        "-w",
                        str(raw),
                        words,
                    ],
                    check=True,
                    timeout=60,
                )
                with wave.open(str(raw), "rb") as src:
                    if src.getframerate() != RATE or src.getsampwidth() != 2:
                        raise CommandError(f"espeak-ng gave {src.getframerate()} Hz, not {RATE}")
                    samples = array.array("h")
                    samples.frombytes(src.readframes(src.getnframes()))
                clips[name] = _trim(samples)
            for name, samples in clips.items():
                wav = work / f"{name}.wav"
                _write(wav, samples)
                target = out / f"{name}.opus"
                subprocess.run(
                    [
                        "opusenc",
                        "--quiet",
                        "--bitrate",
                        str(options["bitrate"]),
                        "--comp",
                        "10",
                        str(wav),
                        str(target),
                    ],
                    check=True,
                    timeout=60,
                )
                total += target.stat().st_size
        self.stdout.write(f"{len(clips)} klip, {total / 1024:.1f} KiB di {out}")
