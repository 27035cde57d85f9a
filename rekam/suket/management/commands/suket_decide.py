"""Show what the issuance decision answers for a resident, and what it used; changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rekam.suket.services import suket_decide

from ._common import election_arg, moment_arg, resident_arg


class Command(BaseCommand):
    help = "Print the Suket decision (PRINT/SUKET/REFUSE), its reason code and its inputs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("nik")
        parser.add_argument("--election", required=True, help="slug of the election")
        parser.add_argument("--at", help="the moment to decide for (ISO date-time, WIB if no zone)")

    def handle(self, *args: Any, **opts: Any) -> None:
        resident = resident_arg(opts["nik"])
        election = election_arg(opts["election"])
        result = suket_decide(
            resident=resident, election=election, at=moment_arg(opts["at"]), record=False
        )
        d = result.decision
        self.stdout.write(f"{d.outcome} {d.reason}")
        self.stdout.write(d.message)
        for key, value in result.inputs.as_json().items():
            self.stdout.write(f"  {key}: {value}")
