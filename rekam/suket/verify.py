"""Checking a Suket's QR text: signature, validity dates and revocation, with no network.

:func:`verify_qr_text` needs only the published key set and revocation list (the same JSON the
offline web verifier caches), so it works anywhere; the online endpoint feeds it the live
state of the database instead.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rekam.lib.nik import mask_nik
from rekam.lib.signing import SignatureError, verify_text

QR_PREFIX = "RK1:"
PAYLOAD_VERSION = 1
JAKARTA = ZoneInfo("Asia/Jakarta")
REVOCATION_HASH_BYTES = 8

SAH = "SAH"
KEDALUWARSA = "KEDALUWARSA"
DICABUT = "DICABUT"
TIDAK_SAH = "TIDAK_SAH"
LABELS = {
    SAH: "SAH",
    KEDALUWARSA: "KEDALUWARSA",
    DICABUT: "DICABUT",
    TIDAK_SAH: "TIDAK SAH",
}


def revocation_hash(uid: bytes) -> bytes:
    """What the revocation list holds for a Suket: the start of the SHA-256 of its id."""
    return hashlib.sha256(uid).digest()[:REVOCATION_HASH_BYTES]


@dataclass(frozen=True)
class KeyInfo:
    kid: bytes
    office: str
    office_name: str
    key: Ed25519PublicKey


@dataclass(frozen=True)
class KeySet:
    keys: Mapping[bytes, KeyInfo]

    @classmethod
    def from_published(cls, rows: Iterable[Mapping[str, Any]]) -> KeySet:
        keys: dict[bytes, KeyInfo] = {}
        for row in rows:
            kid = bytes.fromhex(str(row["kid"]))
            raw = base64.b64decode(str(row["public_key"]))
            keys[kid] = KeyInfo(
                kid=kid,
                office=str(row["office"]),
                office_name=str(row.get("office_name", "")),
                key=Ed25519PublicKey.from_public_bytes(raw),
            )
        return cls(keys)


@dataclass(frozen=True)
class RevocationList:
    hashes: tuple[bytes, ...] = ()  # sorted
    generated_at: datetime | None = None

    @classmethod
    def from_published(cls, data: Mapping[str, Any]) -> RevocationList:
        blob = base64.b64decode(str(data.get("entries", "")))
        size = int(data.get("hash_bytes", REVOCATION_HASH_BYTES))
        hashes = tuple(sorted(blob[i : i + size] for i in range(0, len(blob), size)))
        at = data.get("generated_at")
        return cls(hashes=hashes, generated_at=datetime.fromisoformat(at) if at else None)

    def __contains__(self, uid: object) -> bool:
        if not isinstance(uid, bytes):
            return False
        h = revocation_hash(uid)
        i = bisect.bisect_left(self.hashes, h)
        return i < len(self.hashes) and self.hashes[i] == h


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    office_name: str = ""
    list_date: datetime | None = None

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def ok(self) -> bool:
        return self.status == SAH

    @property
    def holder_name(self) -> str:
        return str(self.payload.get("nm", ""))

    @property
    def masked_nik(self) -> str:
        nik = self.payload.get("nik")
        return mask_nik(str(nik)) if nik else ""

    def as_json(self) -> dict[str, Any]:
        p = self.payload
        return {
            "status": self.status,
            "label": self.label,
            "reason": self.reason,
            "number": p.get("no"),
            "name": p.get("nm") or None,
            "nik": self.masked_nik or None,
            "office": p.get("of"),
            "office_name": self.office_name or None,
            "election": p.get("el"),
            "issued_on": p.get("iss"),
            "valid_until": p.get("vu"),
            "revocation_list_date": self.list_date.isoformat() if self.list_date else None,
        }


_REQUIRED = {"v": int, "id": bytes, "no": str, "nik": str, "nm": str, "of": str, "iss": str}


def _date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError
    return date.fromisoformat(value)


def verify_qr_text(text: str, *, keys: KeySet, revoked: Container[bytes], now: datetime) -> Verdict:
    """SAH, KEDALUWARSA, DICABUT or TIDAK_SAH for a scanned QR text, with the reason.

    ``revoked`` answers ``uid in revoked``: a published :class:`RevocationList`, or the live
    state of the database for the online check.
    """
    try:
        kid, payload = verify_text(
            text, keys={k: v.key for k, v in keys.keys.items()}, prefix=QR_PREFIX
        )
    except SignatureError as exc:
        return Verdict(TIDAK_SAH, exc.message)
    if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
        return Verdict(TIDAK_SAH, "versi data Suket tidak dikenal")
    if any(not isinstance(payload.get(k), t) for k, t in _REQUIRED.items()):
        return Verdict(TIDAK_SAH, "data Suket tidak lengkap")
    info = keys.keys[kid]
    if payload["of"] != info.office:
        return Verdict(TIDAK_SAH, "ditandatangani dengan kunci kantor lain", payload)
    try:
        issued, valid_until = _date(payload["iss"]), _date(payload.get("vu"))
    except ValueError:
        return Verdict(TIDAK_SAH, "tanggal pada Suket tidak sah", payload)
    list_date = getattr(revoked, "generated_at", None)

    def verdict(status: str, reason: str) -> Verdict:
        return Verdict(status, reason, payload, info.office_name, list_date)

    if payload["id"] in revoked:
        return verdict(DICABUT, "Suket telah dicabut: KTP-el pemegangnya sudah dicetak")
    today = now.astimezone(JAKARTA).date()
    if today > valid_until:
        return verdict(KEDALUWARSA, f"masa berlaku Suket berakhir {valid_until:%d-%m-%Y}")
    if today < issued:
        return verdict(TIDAK_SAH, f"tanggal terbit Suket di masa depan ({issued:%d-%m-%Y})")
    return verdict(SAH, f"Suket asli dan berlaku sampai {valid_until:%d-%m-%Y}")
