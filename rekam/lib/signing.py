"""Signed, compact, offline-verifiable text: COSE_Sign1 with Ed25519, zlib, Base45, a prefix.

The chain follows the EU Digital COVID Certificate's ``HC1:``: a CBOR payload is signed as a
COSE_Sign1 structure (RFC 9052: protected header with the algorithm and a key id, the payload,
an Ed25519 signature over the ``Signature1`` structure), the structure is compressed with zlib,
encoded in Base45 and prefixed with a version tag such as ``RK1:``. A verifier needs only the
issuer's public keys, indexed by key id.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils.translation import gettext_lazy as _

from .base45 import Base45Error, b45decode, b45encode

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_EDDSA = -8
# Bounds what a hostile text can make the verifier inflate.
MAX_INFLATED = 16 * 1024


# Why a text is refused, for the person checking it (the web verifier's script shows the same
# texts, from rekam.suket.verify.verifier_texts).
DAMAGED_STRUCTURE = _("damaged data structure")
NOT_SIGNED = _("not a signed document")
DAMAGED_HEADER = _("damaged signature header")
UNKNOWN_ALGORITHM = _("unknown signature algorithm")
NO_KEY_ID = _("signature without a key id")
UNKNOWN_KEY = _("signed with an unknown key")
FORGED = _("the signature does not match: the content was changed or forged")
NO_PREFIX = _("not a Suket code (the prefix %(prefix)s is missing)")
FOREIGN_CHARACTERS = _("the code is cut short or holds foreign characters")
DAMAGED_CODE = _("the code is cut short or damaged")
DAMAGED_CONTENT = _("damaged document content")


class SignatureError(ValueError):
    """Text that is not a genuine signed document; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_raw: bytes) -> bytes:
    """A key's id: the first 8 bytes of the SHA-256 of its raw public key."""
    return hashlib.sha256(public_raw).digest()[:8]


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def cose_sign1(payload: bytes, *, private_key: Ed25519PrivateKey, kid: bytes) -> bytes:
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    signature = private_key.sign(_sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def cose_parse(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """``(kid, protected, payload, signature)`` of a COSE_Sign1, checking only its shape."""
    try:
        obj = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise SignatureError(str(DAMAGED_STRUCTURE)) from exc
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise SignatureError(str(NOT_SIGNED))
        obj = obj.value
    if not (isinstance(obj, list | tuple) and len(obj) == 4):
        raise SignatureError(str(NOT_SIGNED))
    protected, _unprotected, payload, signature = obj
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)):
        raise SignatureError(str(NOT_SIGNED))
    try:
        header = cbor2.loads(protected)
    except Exception as exc:
        raise SignatureError(str(DAMAGED_HEADER)) from exc
    if not isinstance(header, dict) or header.get(HEADER_ALG) != ALG_EDDSA:
        raise SignatureError(str(UNKNOWN_ALGORITHM))
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise SignatureError(str(NO_KEY_ID))
    return kid, protected, payload, signature


def cose_verify1(data: bytes, keys: Mapping[bytes, Ed25519PublicKey]) -> tuple[bytes, bytes]:
    """``(kid, payload)`` of a COSE_Sign1 whose signature a key in ``keys`` confirms."""
    kid, protected, payload, signature = cose_parse(data)
    key = keys.get(kid)
    if key is None:
        raise SignatureError(str(UNKNOWN_KEY))
    try:
        key.verify(signature, _sig_structure(protected, payload))
    except InvalidSignature:
        raise SignatureError(str(FORGED)) from None
    return kid, payload


def pack_text(cose: bytes, *, prefix: str) -> str:
    return prefix + b45encode(zlib.compress(cose, 9))


def unpack_text(text: str, *, prefix: str) -> bytes:
    """The COSE bytes inside a prefixed text, or :class:`SignatureError`."""
    text = text.strip()
    if not text.startswith(prefix):
        raise SignatureError(str(NO_PREFIX) % {"prefix": prefix})
    try:
        compressed = b45decode(text[len(prefix) :])
    except Base45Error as exc:
        raise SignatureError(str(FOREIGN_CHARACTERS)) from exc
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_INFLATED)
    except zlib.error as exc:
        raise SignatureError(str(DAMAGED_CODE)) from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise SignatureError(str(DAMAGED_CODE))
    return data


def sign_text(payload: Any, *, private_key: Ed25519PrivateKey, kid: bytes, prefix: str) -> str:
    """``payload`` (CBOR-encodable) signed and packed as prefixed Base45 text."""
    cose = cose_sign1(cbor2.dumps(payload), private_key=private_key, kid=kid)
    return pack_text(cose, prefix=prefix)


def verify_text(
    text: str, *, keys: Mapping[bytes, Ed25519PublicKey], prefix: str
) -> tuple[bytes, Any]:
    """``(kid, payload)`` of a genuine text, or :class:`SignatureError` saying why not."""
    kid, payload = cose_verify1(unpack_text(text, prefix=prefix), keys)
    try:
        return kid, cbor2.loads(payload)
    except Exception as exc:
        raise SignatureError(str(DAMAGED_CONTENT)) from exc
