"""``rekam invitations_follow_up``: settle invitations whose session is over, now or every few
minutes (``--loop``).

Attended invitations come from the queue's check-ins; a first no-show is re-invited into a free
session before polling day (its message goes to the outbox), a second is listed for a home
visit. Without ``--election`` every election whose polling day has not passed is followed up.
The loop sleeps in short steps and stops between runs on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import signal
import time as clock
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from rekam.elections.models import Election
from rekam.invitations.invites import invitations_follow_up
from rekam.residents.management.commands._common import acting_user
from rekam.voters.management.commands._common import election_by_slug

# Longest single sleep, so that a stop request is noticed soon.
SLEEP_STEP_SECONDS = 5.0
DEFAULT_EVERY_MINUTES = 15


class Command(BaseCommand):
    help = (
        "Follow up invitations: attended (from check-ins) or no-show; a first no-show is "
        "re-invited into a free session before polling day, a second is listed for a home "
        "visit; invitations on a day the service point has closed since are moved to free "
        "sessions. Once, or every --every minutes with --loop."
    )
    # Tests replace the sleep through call_command(sleep=...).
    stealth_options = ("sleep",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--election", help="the election's slug (default: every one still to poll)"
        )
        parser.add_argument("--regency", default="", help="only this regency/city (code)")
        parser.add_argument("--user", help="username to act for (checks jurisdiction)")
        parser.add_argument("--loop", action="store_true", help="run again every --every minutes")
        parser.add_argument(
            "--every",
            type=float,
            default=DEFAULT_EVERY_MINUTES,
            metavar="MINUTES",
            help=f"minutes between runs with --loop ({DEFAULT_EVERY_MINUTES})",
        )
        parser.add_argument(
            "--max-runs", type=int, default=None, help="stop the loop after N runs (default: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["every"] <= 0:
            raise CommandError("--every harus lebih dari 0 menit.")
        user = acting_user(options["user"])
        slug = options["election"]
        if slug:
            election_by_slug(slug)  # an unknown slug fails now, not in the loop
        sleep: Callable[[float], None] = options.get("sleep") or clock.sleep
        self.stopping = False

        def stop(signum: int, frame: Any) -> None:
            # Finish the run in hand (each chunk is its own transaction), then leave.
            self.stopping = True

        if not options["loop"]:
            self._run(slug, options["regency"], user)
            return
        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            runs = 0
            while not self.stopping:
                self._run(slug, options["regency"], user)
                runs += 1
                if options["max_runs"] and runs >= options["max_runs"]:
                    return
                self._wait(options["every"] * 60, sleep)
            self.stdout.write("Berhenti.")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _wait(self, seconds: float, sleep: Callable[[float], None]) -> None:
        left = seconds
        while left > 0 and not self.stopping:
            step = min(left, SLEEP_STEP_SECONDS)
            sleep(step)
            left -= step

    def _run(self, slug: str | None, regency: str, user: Any) -> None:
        if slug:
            elections = [election_by_slug(slug)]
        else:
            today = timezone.localdate()
            elections = list(Election.objects.filter(polling_day__gte=today).order_by("pk"))
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        if not elections:
            self.stdout.write(f"{stamp} Tidak ada pemilihan yang belum lewat hari pemungutannya.")
        for election in elections:
            try:
                done = invitations_follow_up(
                    election=election, acting_user=user, region_code=regency
                )
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{stamp} {election.slug}{' ' + regency if regency else ''}: {done.describe()}"
            )
