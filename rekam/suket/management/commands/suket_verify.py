"""Verify a Suket's QR text (or an image of it) offline; exit 0 only for SAH."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from rekam.lib.qr import qr_read
from rekam.suket.keys import published_keys
from rekam.suket.services import revocation_list_published
from rekam.suket.verify import TIDAK_SAH, KeySet, RevocationList, Verdict, verify_qr_text

from ._common import moment_arg


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
        arg = opts["text_or_image"]
        path = Path(arg)
        text = arg
        unreadable = ""
        if not arg.startswith("RK1:") and path.is_file():
            try:
                found = qr_read(path.read_bytes())
            except ValueError as exc:
                found, unreadable = [], str(exc)
            text = found[0] if found else ""
        keys_rows = (
            json.loads(Path(opts["keys"]).read_text())["keys"] if opts["keys"] else published_keys()
        )
        rev = (
            json.loads(Path(opts["revocations"]).read_text())
            if opts["revocations"]
            else revocation_list_published()
        )
        if not text:
            verdict = Verdict(TIDAK_SAH, unreadable or "kode QR tidak ditemukan pada gambar")
        else:
            verdict = verify_qr_text(
                text,
                keys=KeySet.from_published(keys_rows),
                revoked=RevocationList.from_published(rev),
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
            self.stdout.write(f"NIK: {verdict.masked_nik}")
            self.stdout.write(f"Nomor: {verdict.payload.get('no')}")
            self.stdout.write(f"Berlaku sampai: {verdict.payload.get('vu')}")
            self.stdout.write(f"Diperiksa dengan {verdict.list_label}")
        sys.stdout.flush()
        if not verdict.ok:
            sys.exit(1)
