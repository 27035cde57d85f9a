"""Base45 (RFC 9285): bytes as text in the QR code's alphanumeric alphabet.

Two bytes become three characters (one trailing byte becomes two), so a QR code in alphanumeric
mode holds the text about as compactly as it would hold the raw bytes, and the text survives
being typed, pasted or read aloud.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


class Base45Error(ValueError):
    """Text that is not valid Base45."""


def b45encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    if len(text) % 3 == 1:
        raise Base45Error("panjang teks Base45 tidak sah")
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise Base45Error(f"karakter {exc.args[0]!r} bukan Base45") from None
    out = bytearray()
    full = len(values) - len(values) % 3
    for i in range(0, full, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if n > 0xFFFF:
            raise Base45Error("nilai Base45 melebihi dua byte")
        out += n.to_bytes(2, "big")
    if full < len(values):
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise Base45Error("nilai Base45 melebihi satu byte")
        out.append(n)
    return bytes(out)
