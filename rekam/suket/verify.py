"""Checking a Suket's QR text: signature, validity dates and revocation, with no network.

:func:`verify_qr_text` needs only the published key set and revocation list (the same JSON the
offline web verifier caches), so it works anywhere; the online endpoint feeds it the live
state of the database instead. A saved key set may predate a key the office made since: a
Suket signed with a key it does not know, issued no earlier than the set's day, cannot be
decided from it (TIDAK_DAPAT_DIPERIKSA), where the live set would say TIDAK_SAH.
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

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils.translation import gettext_lazy as _

from rekam.lib import signing
from rekam.lib.nik import mask_nik
from rekam.lib.signing import SignatureError, cose_parse, unpack_text, verify_text

QR_PREFIX = "RK1:"
PAYLOAD_VERSION = 1
JAKARTA = ZoneInfo("Asia/Jakarta")
REVOCATION_HASH_BYTES = 8

SAH = "SAH"
KEDALUWARSA = "KEDALUWARSA"
DICABUT = "DICABUT"
TIDAK_SAH = "TIDAK_SAH"
# Not a verdict on the Suket: what was at hand here (a saved key list, this browser) cannot
# decide; the live check or another document can.
TIDAK_DAPAT_DIPERIKSA = "TIDAK_DAPAT_DIPERIKSA"
LABELS = {
    SAH: _("VALID"),
    KEDALUWARSA: _("EXPIRED"),
    DICABUT: _("REVOKED"),
    TIDAK_SAH: _("NOT VALID"),
    TIDAK_DAPAT_DIPERIKSA: _("CANNOT BE CHECKED HERE"),
}
# Reasons of a verdict, for the person checking (the web verifier's script gets the same).
UNKNOWN_VERSION = _("unknown Suket data version")
INCOMPLETE = _("incomplete Suket data")
OTHER_OFFICE = _("signed with another office's key")
BAD_DATE = _("the date on the Suket is not valid")
WITHDRAWN_KEY = _("signed with a key withdrawn since %(date)s")
# The list holds no reasons: a card printed, or an officer's withdrawal.
REVOKED = _(
    "the Suket was revoked: its holder's KTP-el has been printed, or the office withdrew it"
)
ENDED = _("the Suket's validity ended on %(date)s")
FUTURE = _("the Suket's issue date is in the future (%(date)s)")
GENUINE = _("a genuine Suket, valid until %(date)s")
LIST_LIVE = _("the current revocation list (checked online)")
LIST_AS_OF = _("the revocation list as of %(when)s WIB")
KEY_NOT_YET_KNOWN = _(
    "signed with a key that the key list on this device (as of %(when)s WIB) does not hold:"
    " the office may have changed its key since"
)


def _jakarta_day(iso: object) -> date:
    return datetime.fromisoformat(str(iso)).astimezone(JAKARTA).date()


def revocation_hash(uid: bytes) -> bytes:
    """What the revocation list holds for a Suket: the start of the SHA-256 of its id."""
    return hashlib.sha256(uid).digest()[:REVOCATION_HASH_BYTES]


@dataclass(frozen=True)
class KeyInfo:
    kid: bytes
    office: str
    office_name: str
    key: Ed25519PublicKey
    # The last issue date this key vouches for: the day (WIB) it was retired; None if active.
    retired_on: date | None = None


@dataclass(frozen=True)
class KeySet:
    keys: Mapping[bytes, KeyInfo]
    # When a saved set was published; None for the live set, which knows every current key.
    as_of: datetime | None = None
    # Compromised keys by id, with the day (WIB) they were withdrawn: refused outright.
    withdrawn: Mapping[bytes, date] = field(default_factory=dict)

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> KeySet:
        """The set of a saved ``kunci.json``, with its date and its withdrawn key ids."""
        at = data.get("generated_at")
        rows = data.get("withdrawn")
        return cls(
            cls.from_published(data.get("keys") or []).keys,
            as_of=datetime.fromisoformat(str(at)) if at else None,
            withdrawn={
                bytes.fromhex(str(row["kid"])): _jakarta_day(row["withdrawn_at"])
                for row in (rows if isinstance(rows, list) else [])
            },
        )

    @classmethod
    def from_published(cls, rows: Iterable[Mapping[str, Any]]) -> KeySet:
        keys: dict[bytes, KeyInfo] = {}
        for row in rows:
            if row.get("compromised_at"):  # never published; refused should a file carry one
                continue
            kid = bytes.fromhex(str(row["kid"]))
            raw = base64.b64decode(str(row["public_key"]))
            retired = row.get("retired_at")
            keys[kid] = KeyInfo(
                kid=kid,
                office=str(row["office"]),
                office_name=str(row.get("office_name", "")),
                key=Ed25519PublicKey.from_public_bytes(raw),
                retired_on=_jakarta_day(retired) if retired else None,
            )
        return cls(keys)


@dataclass(frozen=True)
class RevocationList:
    hashes: tuple[bytes, ...] = ()  # sorted
    generated_at: datetime | None = None
    elections: Mapping[str, str] = field(default_factory=dict)  # slug -> name

    @classmethod
    def from_published(cls, data: Mapping[str, Any]) -> RevocationList:
        blob = base64.b64decode(str(data.get("entries", "")))
        size = int(data.get("hash_bytes", REVOCATION_HASH_BYTES))
        hashes = tuple(sorted(blob[i : i + size] for i in range(0, len(blob), size)))
        at = data.get("generated_at")
        names = data.get("elections")
        return cls(
            hashes=hashes,
            generated_at=datetime.fromisoformat(at) if at else None,
            elections={str(k): str(v) for k, v in names.items()}
            if isinstance(names, Mapping)
            else {},
        )

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
    list_date: datetime | None = None  # the revocation list's date; None: checked live
    election_name: str = ""

    @property
    def label(self) -> str:
        return str(LABELS[self.status])

    @property
    def ok(self) -> bool:
        return self.status == SAH

    @property
    def holder_name(self) -> str:
        return str(self.payload.get("nm", ""))

    @property
    def election(self) -> str:
        """The slug of the election the Suket is for (signed, in the payload)."""
        return str(self.payload.get("el", "") or "")

    @property
    def election_label(self) -> str:
        """The election's name where the verifier knows it, else its slug."""
        return self.election_name or self.election

    @property
    def list_label(self) -> str:
        """``daftar pencabutan per 05-12-2020 10:00 WIB``, or that the check was live."""
        if self.list_date is None:
            return str(LIST_LIVE)
        return str(LIST_AS_OF) % {"when": f"{self.list_date.astimezone(JAKARTA):%d-%m-%Y %H:%M}"}

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
            "birth_date": p.get("lhr") or None,
            "nik": self.masked_nik or None,
            "office": p.get("of"),
            "office_name": self.office_name or None,
            "election": p.get("el"),
            "election_name": self.election_label or None,
            "issued_on": p.get("iss"),
            "valid_until": p.get("vu"),
            "revocation_list_date": self.list_date.isoformat() if self.list_date else None,
            "revocation_list": self.list_label if self.payload else None,
        }


_REQUIRED = {
    "v": int,
    "id": bytes,
    "no": str,
    "nik": str,
    "nm": str,
    "of": str,
    "el": str,
    "iss": str,
}


def _date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError
    return date.fromisoformat(value)


def verify_qr_text(text: str, *, keys: KeySet, revoked: Container[bytes], now: datetime) -> Verdict:
    """SAH, KEDALUWARSA, DICABUT or TIDAK_SAH for a scanned QR text, with the reason
    (TIDAK_DAPAT_DIPERIKSA only from a saved key set, see :func:`_refused`).

    ``revoked`` answers ``uid in revoked``: a published :class:`RevocationList`, or the live
    state of the database for the online check; its ``generated_at`` and ``elections`` (slug
    to name), where it has them, go into the verdict. A retired key vouches only for Sukets
    issued on or before its retirement day; after ``vu`` (valid until) a Suket is KEDALUWARSA.
    """
    try:
        kid, payload = verify_text(
            text, keys={k: v.key for k, v in keys.keys.items()}, prefix=QR_PREFIX
        )
    except SignatureError as exc:
        return _refused(text, exc, keys)
    if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
        return Verdict(TIDAK_SAH, str(UNKNOWN_VERSION))
    if any(not isinstance(payload.get(k), t) for k, t in _REQUIRED.items()):
        return Verdict(TIDAK_SAH, str(INCOMPLETE))
    info = keys.keys[kid]
    if payload["of"] != info.office:
        return Verdict(TIDAK_SAH, str(OTHER_OFFICE), payload)
    try:
        issued, valid_until = _date(payload["iss"]), _date(payload.get("vu"))
    except ValueError:
        return Verdict(TIDAK_SAH, str(BAD_DATE), payload)
    if info.retired_on is not None and issued > info.retired_on:
        return Verdict(
            TIDAK_SAH,
            str(WITHDRAWN_KEY) % {"date": f"{info.retired_on:%d-%m-%Y}"},
            payload,
        )
    list_date = getattr(revoked, "generated_at", None)
    names = getattr(revoked, "elections", None) or {}
    election_name = str(names.get(str(payload.get("el", "")), ""))

    def verdict(status: str, reason: str) -> Verdict:
        return Verdict(status, reason, payload, info.office_name, list_date, election_name)

    if payload["id"] in revoked:
        return verdict(DICABUT, str(REVOKED))
    today = now.astimezone(JAKARTA).date()
    if today > valid_until:
        return verdict(KEDALUWARSA, str(ENDED) % {"date": f"{valid_until:%d-%m-%Y}"})
    if today < issued:
        return verdict(TIDAK_SAH, str(FUTURE) % {"date": f"{issued:%d-%m-%Y}"})
    return verdict(SAH, str(GENUINE) % {"date": f"{valid_until:%d-%m-%Y}"})


def _refused(text: str, exc: SignatureError, keys: KeySet) -> Verdict:
    """TIDAK_SAH with ``exc``'s reason, unless the key is one a saved set may not know yet.

    Nothing of the unverified payload goes into the verdict; only its issue date is read, to
    tell a key made after the saved set (undecidable here) from one that was never valid.
    """
    try:
        kid, _protected, payload_bytes, _signature = cose_parse(unpack_text(text, prefix=QR_PREFIX))
    except SignatureError:
        return Verdict(TIDAK_SAH, exc.message)
    if kid in keys.keys:  # a known key whose signature does not match
        return Verdict(TIDAK_SAH, exc.message)
    if kid in keys.withdrawn:
        return Verdict(TIDAK_SAH, str(WITHDRAWN_KEY) % {"date": f"{keys.withdrawn[kid]:%d-%m-%Y}"})
    if keys.as_of is None:
        return Verdict(TIDAK_SAH, exc.message)
    try:
        claimed = cbor2.loads(payload_bytes)
        issued = _date(claimed.get("iss") if isinstance(claimed, dict) else None)
    except Exception:  # cbor2 raises several types for malformed input
        return Verdict(TIDAK_SAH, exc.message)
    if keys.as_of.astimezone(JAKARTA).date() > issued:
        return Verdict(TIDAK_SAH, exc.message)  # the set is from after the Suket's issue day
    when = f"{keys.as_of.astimezone(JAKARTA):%d-%m-%Y %H:%M}"
    return Verdict(TIDAK_DAPAT_DIPERIKSA, str(KEY_NOT_YET_KNOWN) % {"when": when})


def verifier_texts() -> dict[str, str]:
    """Every text the offline web verifier shows, in the active language, for its script."""
    texts = {
        "valid": LABELS[SAH],
        "expired": LABELS[KEDALUWARSA],
        "revoked": LABELS[DICABUT],
        "not_valid": LABELS[TIDAK_SAH],
        "cannot_check": LABELS[TIDAK_DAPAT_DIPERIKSA],
        "damaged_structure": signing.DAMAGED_STRUCTURE,
        "not_signed": signing.NOT_SIGNED,
        "unknown_algorithm": signing.UNKNOWN_ALGORITHM,
        "no_key_id": signing.NO_KEY_ID,
        "unknown_key": signing.UNKNOWN_KEY,
        "forged": signing.FORGED,
        "no_prefix": signing.NO_PREFIX,
        "foreign_characters": signing.FOREIGN_CHARACTERS,
        "damaged_code": signing.DAMAGED_CODE,
        "too_large": _("the code is too large"),
        "unknown_version": UNKNOWN_VERSION,
        "incomplete": INCOMPLETE,
        "other_office": OTHER_OFFICE,
        "withdrawn_key": WITHDRAWN_KEY,
        "revoked_reason": REVOKED,
        "ended": ENDED,
        "future": FUTURE,
        "genuine": GENUINE,
        "list_as_of": LIST_AS_OF,
        "list_old": _("(more than a day old: open this page when there is signal to update it)"),
        "key_not_yet_known": KEY_NOT_YET_KNOWN,
        "key_list_undated": _(
            "signed with a key that the key list on this device does not hold: the office may"
            " have changed its key since"
        ),
        # Reasons this device cannot decide (TIDAK_DAPAT_DIPERIKSA): never "not valid".
        "no_ed25519": _("this browser cannot check signatures (it has no Ed25519)"),
        "no_inflate": _("this browser cannot unpack the code (it has no DecompressionStream)"),
        "no_keys": _("the keys have not been loaded on this device yet"),
        "device_error": _("this browser failed while checking the code"),
        "no_local_check": _(
            "This browser cannot check Suket codes by itself: it asks the server when there is"
            " signal. To check without signal, open this page in a current Chrome."
        ),
        "no_qr_reader": _(
            "This browser cannot read QR pictures by itself: photos are read by the server when"
            " there is signal. Without signal, scan the code with the phone's camera or a QR"
            " app and paste its text below, or open this page in a current Chrome."
        ),
        "offline_ready": _("Ready: this page also works without signal on this device."),
        "offline_unavailable": _(
            "This browser cannot keep this page for use without signal: keep it open."
        ),
        "loaded_dated": _("Keys as of %(when)s WIB and %(list)s loaded."),
        "empty": _("Paste the code's text first (it starts with RK1:)."),
        # What the officer does next, per verdict.
        "next_valid": _("Next: compare the name and date of birth with the person."),
        "next_not_valid": _(
            "Next: ask for the KTP-el or another proof of identity. Under the KPPS rules, this"
            " Suket cannot be used to vote."
        ),
        "next_offline": _(
            "Next: reload this page when there is signal, or ask for the KTP-el or another"
            " document."
        ),
        "next_retry": _("Next: try again in a minute, or ask for the KTP-el or another document."),
        "election": _("Election"),
        "name": _("Name"),
        "birth_date": _("Date of birth"),
        "nik": "NIK",
        "number": _("Number"),
        "issued_by": _("Issued by"),
        "valid_until": _("Valid until"),
        "checked_with": _("Checked with"),
        "loaded": _("Keys and %(list)s loaded."),
        "not_loaded": _(
            "The keys could not be loaded yet: open this page once when there is signal."
        ),
        "no_qr": _("No QR code was found in the image."),
        "image_offline": _(
            "This browser cannot read QR pictures without signal: scan the code with the"
            " phone's camera or a QR app and paste its text."
        ),
        # Not a verdict: the code was not read, so nothing is said of the Suket.
        "unreadable": _("CODE NOT READ"),
        "try_again": _(
            "Nothing is known of this Suket yet: take a sharper photo or paste the code's text."
        ),
    }
    return {key: str(text) for key, text in texts.items()}
