"""What the board says aloud, as a list of recorded clips played one after another.

The board has no text-to-speech service to call: each call is composed from short clips of
Indonesian words shipped in ``static/antrean/audio`` (``rekam antrean_audio`` makes them with
espeak-ng). ``A-012`` at counter 2 is said "nomor antrean, a, dua belas, silakan ke loket, dua".
"""

from __future__ import annotations

# Clip name -> the words spoken in it (what ``antrean_audio`` feeds the synthesiser).
CLIP_WORDS: dict[str, str] = {
    "nomor": "nomor antrean",
    "loket": "silakan ke loket",
    "huruf-a": "a",
    "huruf-b": "be",
    "huruf-c": "ce",
    "huruf-d": "de",
    "nol": "nol",
    "1": "satu",
    "2": "dua",
    "3": "tiga",
    "4": "empat",
    "5": "lima",
    "6": "enam",
    "7": "tujuh",
    "8": "delapan",
    "9": "sembilan",
    "sepuluh": "sepuluh",
    "sebelas": "sebelas",
    "belas": "belas",
    "puluh": "puluh",
    "seratus": "seratus",
    "ratus": "ratus",
    "seribu": "seribu",
}
# A two-tone chime before each call; synthesised, not spoken.
CHIME = "chime"
CLIPS = (CHIME, *CLIP_WORDS)


def number_clips(n: int) -> list[str]:
    """Clips for ``n`` (0-1999) in Indonesian: 12 -> dua belas, 115 -> seratus lima belas."""
    if not 0 <= n < 2000:
        raise ValueError(f"number out of range: {n}")
    if n == 0:
        return ["nol"]
    out: list[str] = []
    if n >= 1000:
        out.append("seribu")
        n -= 1000
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        out.append("seratus")
    elif hundreds > 1:
        out += [str(hundreds), "ratus"]
    if rest == 0:
        return out
    if rest < 10:
        out.append(str(rest))
    elif rest == 10:
        out.append("sepuluh")
    elif rest == 11:
        out.append("sebelas")
    elif rest < 20:
        out += [str(rest - 10), "belas"]
    else:
        tens, ones = divmod(rest, 10)
        out += [str(tens), "puluh"]
        if ones:
            out.append(str(ones))
    return out


def call_clips(label: str, counter: int) -> list[str]:
    """Clips announcing ticket ``label`` (``"A-012"``) at ``counter``."""
    prefix, _, digits = label.partition("-")
    letter = f"huruf-{prefix.lower()}"
    if letter not in CLIP_WORDS or not digits.isdigit():
        raise ValueError(f"not a queue number: {label!r}")
    return [CHIME, "nomor", letter, *number_clips(int(digits)), "loket", *number_clips(counter)]


def call_text(label: str, counter: int) -> str:
    """The same announcement as text, for a device's own offline Indonesian voice."""
    words = [CLIP_WORDS[c] for c in call_clips(label, counter) if c != CHIME]
    return " ".join(words).capitalize()
