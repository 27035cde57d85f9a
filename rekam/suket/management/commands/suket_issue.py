"""Issue Sukets in bulk where the decision allows; refuse with the reason where it does not.

Exits non-zero when no NIK got a Suket, so scripts notice a run that did nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rekam.suket.services import SuketError, suket_issue_many, suket_pdf

from ._common import election_arg, moment_arg, resident_arg


class Command(BaseCommand):
    help = "Issue a Suket for each NIK the decision allows; write the PDFs and print number and QR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("niks", nargs="+", metavar="NIK")
        parser.add_argument("--election", required=True, help="slug of the election")
        parser.add_argument("--out", help="directory for the PDFs")
        parser.add_argument("--at", help="the moment of issuance (ISO date-time, WIB if no zone)")

    def handle(self, *args: Any, **opts: Any) -> None:
        election = election_arg(opts["election"])
        out = Path(opts["out"]) if opts["out"] else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        at = moment_arg(opts["at"])
        refused = 0
        residents = []
        for raw in opts["niks"]:
            try:
                residents.append(resident_arg(raw))
            except CommandError as exc:
                refused += 1
                self.stderr.write(f"{raw}: {exc}")
        if not residents:
            raise CommandError(f"Tidak ada Suket yang diterbitkan: {refused} NIK ditolak.")
        try:
            results = suket_issue_many(
                residents=residents, election=election, at=at, actor_label="command:suket_issue"
            )
        except SuketError as exc:
            raise CommandError(exc.message) from None
        for result in results:
            nik = result.resident.nik
            if result.suket is None:
                refused += 1
                d = result.decision
                self.stdout.write(f"{nik}\t{d.outcome} {d.reason}\t{d.message}")
                continue
            suket = result.suket
            if out is not None:
                name = suket.number.replace("/", "-") + ".pdf"
                (out / name).write_bytes(suket_pdf(suket))
            self.stdout.write(f"{nik}\t{suket.number}\t{suket.qr_text}")
        if refused and refused == len(opts["niks"]):
            raise CommandError(f"Tidak ada Suket yang diterbitkan: {refused} NIK ditolak.")
        if refused:
            self.stderr.write(f"{refused} NIK tidak diterbitkan Suket.")
