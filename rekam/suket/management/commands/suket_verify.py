"""Verify a Suket's QR text (or an image of it) offline.

Exit 0 only for SAH; 1 for any other verdict; 2 when saved --keys cannot decide
(TIDAK DAPAT DIPERIKSA: signed with a key newer than the file, check online).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from rekam.lib.qr import qr_read
from rekam.suket.keys import published_keys
from rekam.suket.services import revocation_list_published
from rekam.suket.verify import (
    QR_PREFIX,
    TIDAK_DAPAT_DIPERIKSA,
    TIDAK_SAH,
    KeySet,
    RevocationList,
    Verdict,
    verify_qr_text,
)

from ._common import moment_arg


def _is_file(arg: str) -> bool:
    """Whether ``arg`` names an existing file; a long QR text is no path ("File name too
    long") and a text with a NUL byte none either."""
    try:
        return Path(arg).is_file()
    except (OSError, ValueError):
        return False


def _json_file(path: str, option: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CommandError(
            f"{option}: berkas {path} tidak dapat dibaca sebagai JSON ({exc})."
        ) from None
    if not isinstance(data, dict):
        raise CommandError(f"{option}: berkas {path} bukan dokumen yang diterbitkan /verifikasi.")
    return data


class Command(BaseCommand):
    help = (
        "Verify a Suket QR text or image with the published keys and revocation list "
        "(from this database, or from --keys/--revocations JSON files for a fully offline check)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text_or_image", metavar="TEXT|IMAGE")
        parser.add_argument("--keys", help="kunci.json as published at /verifikasi/kunci.json")
        parser.add_argument("--revocations", help="cabut.json as published")
        parser.add_argument("--at", help="check as of this moment (ISO date-time)")

    def handle(self, *args: Any, **opts: Any) -> None:
        arg = opts["text_or_image"].strip()
        text = arg
        unreadable = ""
        if not arg.startswith(QR_PREFIX):
            if not _is_file(arg):
                shown = arg if len(arg) <= 40 else arg[:40] + "…"
                raise CommandError(
                    f"{shown!r} bukan teks kode Suket (diawali {QR_PREFIX}) dan bukan berkas "
                    "gambar yang ada."
                )
            try:
                found = qr_read(Path(arg).read_bytes())
            except ValueError as exc:
                found, unreadable = [], str(exc)
            text = found[0] if found else ""
        try:
            keys = (
                KeySet.from_document(_json_file(opts["keys"], "--keys"))
                if opts["keys"]
                else KeySet.from_published(published_keys())
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"--keys: isi berkas {opts['keys']} tidak sah ({exc}).") from None
        try:
            revoked = RevocationList.from_published(
                _json_file(opts["revocations"], "--revocations")
                if opts["revocations"]
                else revocation_list_published()
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(
                f"--revocations: isi berkas {opts['revocations']} tidak sah ({exc})."
            ) from None
        if not text:
            verdict = Verdict(TIDAK_SAH, unreadable or "kode QR tidak ditemukan pada gambar")
        else:
            verdict = verify_qr_text(
                text,
                keys=keys,
                revoked=revoked,
                now=moment_arg(opts["at"]) if opts["at"] else timezone.now(),
            )
        label = verdict.label
        if verdict.election_label:
            label += f" - {verdict.election_label}"
        self.stdout.write(label)
        self.stdout.write(verdict.reason)
        if verdict.holder_name:
            self.stdout.write(f"Pemilihan: {verdict.election_label}")
            self.stdout.write(f"Nama: {verdict.holder_name}")
            self.stdout.write(f"Tanggal lahir: {_dmy(verdict.payload.get('lhr'))}")
            self.stdout.write(f"NIK: {verdict.masked_nik}")
            self.stdout.write(f"Nomor: {verdict.payload.get('no')}")
            self.stdout.write(f"Berlaku sampai: {verdict.payload.get('vu')}")
            self.stdout.write(f"Diperiksa dengan {verdict.list_label}")
        sys.stdout.flush()
        if verdict.status == TIDAK_DAPAT_DIPERIKSA:
            sys.exit(2)
        if not verdict.ok:
            sys.exit(1)


def _dmy(iso: object) -> str:
    text = str(iso or "")
    return f"{text[8:10]}-{text[5:7]}-{text[:4]}" if len(text) == 10 else text
