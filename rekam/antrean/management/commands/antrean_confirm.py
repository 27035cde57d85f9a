"""Put the confirmations of online numbers in the outbox, for deployments that do not do it in
the request (``ANTREAN_CONFIRM_ON_COMMIT=0``). Each pass claims up to ``--batch`` numbers and
writes their messages in one transaction (one insert); it pauses only when a pass found fewer,
so a busy morning gets full batches. Several may run: each ticket is claimed once."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rekam.antrean.services import tickets_confirm_due


class Command(BaseCommand):
    help = "Confirm online queue numbers whose WhatsApp message is not in the outbox yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then stop")
        parser.add_argument("--batch", type=int, default=100)
        parser.add_argument("--poll-ms", type=int, default=500, help="pause when idle")
        parser.add_argument("--max-seconds", type=int, default=3600, help="stop after this")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, int(options["batch"]))
        pause = max(10, int(options["poll_ms"])) / 1000
        deadline = time.monotonic() + max(1, int(options["max_seconds"]))
        total = 0
        while True:
            done = tickets_confirm_due(limit=batch)
            total += done
            if options["once"] or time.monotonic() >= deadline:
                break
            if done < batch:
                time.sleep(pause)
        if int(options["verbosity"]) > 0:
            self.stdout.write(f"{total} konfirmasi nomor antrean dimasukkan ke kotak keluar")
