"""Office signing keys: creation, rotation, the sealed private key and the published key set.

Private keys are stored sealed with AES-GCM under a key derived from ``SUKET_KEY_SECRET`` (which
defaults to ``SECRET_KEY``), so a database dump alone cannot sign Sukets. Rotating creates a new
active key and retires the old one; a retired key stays in the published set with its retirement
time, and verifiers accept it only for Sukets issued on or before that day (so a key taken out
of use cannot sign new ones that verify). A rotation because the key was compromised also marks
it compromised: it leaves the published set, so nothing it signed verifies, and the Sukets it
signed are revoked in the database so their holders can be issued new ones.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.accounts.models import Office
from rekam.audit.services import audit_record
from rekam.lib.signing import key_id, public_key_raw

from .models import OfficeKey


def _sealing_key() -> bytes:
    secret = str(settings.SUKET_KEY_SECRET).encode()
    return hashlib.sha256(b"rekam-suket-office-key\x00" + secret).digest()


def _seal(raw: bytes, kid: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_sealing_key()).encrypt(nonce, raw, kid.encode())


def _unseal(sealed: bytes, kid: str) -> bytes:
    return AESGCM(_sealing_key()).decrypt(sealed[:12], sealed[12:], kid.encode())


def private_key(key: OfficeKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_unseal(bytes(key.private_key_sealed), key.kid))


def public_key(key: OfficeKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes(key.public_key))


@transaction.atomic
def office_key_rotate(
    *,
    office: Office,
    acting_user: Any = None,
    at: datetime | None = None,
    compromised: bool = False,
) -> OfficeKey:
    """A new active signing key for ``office``; its previous key is retired (still published,
    for Sukets issued until today) or, if ``compromised``, withdrawn with everything it signed.
    """
    if acting_user is not None:
        require(acting_user, Action.MANAGE_OFFICE, office.region_id)
    at = at or timezone.now()
    _lock_office(office)
    old = list(OfficeKey.objects.filter(office=office, retired_at__isnull=True))
    key = _key_create(office=office, acting_user=acting_user, at=at)
    if compromised:
        for k in old:
            _key_compromise(k, acting_user=acting_user, at=at)
    return key


def _key_compromise(key: OfficeKey, *, acting_user: Any, at: datetime) -> None:
    from .services import suket_revoke_signed_by  # services signs with the keys of this module

    OfficeKey.objects.filter(pk=key.pk).update(compromised_at=at)
    key.compromised_at = at
    revoked = suket_revoke_signed_by(
        key=key,
        reason=f"kunci penandatangan {key.kid} bocor; Suket perlu diterbitkan ulang",
        at=at,
        acting_user=acting_user,
    )
    audit_record(
        acting_user=acting_user,
        action="suket.key_compromised",
        obj=key,
        changes={"compromised": [False, True], "sukets_revoked": [0, revoked]},
        actor_label="" if acting_user else "system",
    )


def _lock_office(office: Office) -> None:
    # One key change at a time per office. NO KEY UPDATE: rows referring to the office (a
    # decision being stored in the same transaction) keep their key-share locks compatible.
    Office.objects.select_for_update(no_key=True).only("pk").get(pk=office.pk)


def _key_create(*, office: Office, acting_user: Any, at: datetime) -> OfficeKey:
    old = list(OfficeKey.objects.filter(office=office, retired_at__isnull=True))
    OfficeKey.objects.filter(pk__in=[k.pk for k in old]).update(retired_at=at)
    secret = Ed25519PrivateKey.generate()
    raw_public = public_key_raw(secret.public_key())
    kid = key_id(raw_public).hex()
    raw_private = secret.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key = OfficeKey.objects.create(
        office=office,
        kid=kid,
        public_key=raw_public,
        private_key_sealed=_seal(raw_private, kid),
        created_at=at,
    )
    audit_record(
        acting_user=acting_user,
        action="suket.key_rotate",
        obj=key,
        changes={"kid": [old[0].kid if old else None, kid]},
        actor_label="" if acting_user else "system",
    )
    return key


def office_key_active(office: Office) -> OfficeKey:
    """The office's active key, created on first use (once, also under concurrent issuance)."""
    key = OfficeKey.objects.filter(office=office, retired_at__isnull=True).first()
    if key is not None:
        return key
    with transaction.atomic():
        _lock_office(office)
        key = OfficeKey.objects.filter(office=office, retired_at__isnull=True).first()
        return key or _key_create(office=office, acting_user=None, at=timezone.now())


def published_keys() -> list[dict[str, Any]]:
    """The public key set as published at ``/verifikasi/kunci.json`` (compromised keys left
    out; a retired key is good only for Sukets issued on or before its ``retired_at`` day)."""
    rows = (
        OfficeKey.objects.filter(compromised_at__isnull=True)
        .select_related("office")
        .order_by("office__code", "created_at")
    )
    return [
        {
            "kid": k.kid,
            "office": k.office.code,
            "office_name": k.office.name,
            "alg": "Ed25519",
            "public_key": base64.b64encode(bytes(k.public_key)).decode(),
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
        }
        for k in rows
    ]
