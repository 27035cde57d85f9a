"""``rekam daily_report``: make the daily reports (PDF) now, or run as their schedule.

Without ``--loop`` it makes the day's due reports (the province's and each electing
regency/city's, once a day) or, with ``--election``/``--region``, the one asked for. With
``--loop`` it waits for the report time (``--at``, default ``settings.REPORT_DAILY_AT``, WIB),
makes the due reports, and waits for the next day's; started after the day's time it makes the
day's reports at once (the schedule is idempotent, a restart never doubles them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import sleep as wait_seconds
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from rekam.lib.dates import DateError, parse_date
from rekam.reporting.models import DailyReport
from rekam.reporting.report import (
    ON_DEMAND,
    ReportRefused,
    elections_reported,
    report_file_name,
    report_make,
    reports_due,
)
from rekam.voters.management.commands._common import election_by_slug

_HH_MM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# Longest single sleep: the loop wakes now and then to notice a changed clock.
SLEEP_CHUNK_SECONDS = 300.0


def time_arg(raw: str) -> time:
    m = _HH_MM.match(raw.strip())
    if m is None:
        raise CommandError(f"--at harus jam HH:MM (mis. 06:00), bukan {raw!r}.")
    return time(int(m[1]), int(m[2]))


def day_arg(raw: str | None) -> date:
    if not raw:
        return timezone.localdate()
    try:
        return parse_date(raw, label="--day")
    except DateError as exc:
        raise CommandError(exc.message) from None


def report_moment(day: date, at: time) -> datetime:
    """The moment of the report time on ``day``, in WIB."""
    return timezone.make_aware(datetime.combine(day, at))


class Command(BaseCommand):
    help = "Make the daily report PDFs of the elections (now, or daily at a set time with --loop)."
    # Tests replace the clock and the sleep through call_command(clock=..., sleep=...).
    stealth_options = ("clock", "sleep")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--election", help="slug of one election (made now, on demand)")
        parser.add_argument(
            "--region", help="regency/city code, e.g. 18.71 (default: the province)"
        )
        parser.add_argument("--day", help="report date YYYY-MM-DD (default: today, WIB)")
        parser.add_argument("--out", help="directory to write the PDFs to as well")
        parser.add_argument(
            "--loop", action="store_true", help="run as the schedule: every day at --at"
        )
        parser.add_argument("--at", help="time of the daily reports, HH:MM WIB")
        parser.add_argument(
            "--max-runs", type=int, default=None, help="stop the loop after N days (default: never)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        out = Path(opts["out"]) if opts["out"] else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        clock: Callable[[], datetime] = opts.get("clock") or timezone.now
        sleep: Callable[[float], None] = opts.get("sleep") or wait_seconds
        if opts["loop"]:
            if opts["election"] or opts["region"] or opts["day"]:
                raise CommandError(
                    "--loop membuat semua laporan terjadwal; tanpa --election, --region atau --day."
                )
            at = time_arg(opts["at"] or getattr(settings, "REPORT_DAILY_AT", "06:00"))
            self._loop(at, opts["max_runs"], clock, sleep, out)
            return
        day = day_arg(opts["day"])
        if opts["election"] or opts["region"]:
            made = self._on_demand(opts["election"], opts["region"] or "", day)
        else:
            made = reports_due(day=day)
        self._written(made, out, day)

    def _on_demand(self, slug: str | None, region: str, day: date) -> list[DailyReport]:
        elections = [election_by_slug(slug)] if slug else list(elections_reported(day))
        if region and not slug:
            elections = [e for e in elections if e.regions.filter(code=region).exists()]
        made = []
        for election in elections:
            try:
                made.append(
                    report_make(
                        election=election,
                        within=region,
                        day=day,
                        acting_user=None,
                        trigger=ON_DEMAND,
                    )
                )
            except ReportRefused as exc:
                raise CommandError(exc.message) from None
        return made

    def _loop(
        self,
        at: time,
        max_runs: int | None,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        out: Path | None,
    ) -> None:
        # The first run is today's report time, even when it has passed (a restart catches up).
        target = report_moment(timezone.localtime(clock()).date(), at)
        runs = 0
        while max_runs is None or runs < max_runs:
            self.stdout.write(
                f"Laporan berikutnya: {timezone.localtime(target):%Y-%m-%d %H:%M} WIB"
            )
            while (left := (target - clock()).total_seconds()) > 0:
                sleep(min(left, SLEEP_CHUNK_SECONDS))
            day = timezone.localtime(target).date()
            self._written(reports_due(day=day), out, day)
            runs += 1
            # The next report time after now (days the process slept through are not made late).
            now = timezone.localtime(clock())
            target = report_moment(now.date(), at)
            if target <= now:
                target = report_moment(now.date() + timedelta(days=1), at)

    def _written(self, made: Iterable[DailyReport], out: Path | None, day: date) -> None:
        count = 0
        for report in made:
            count += 1
            place = report.region_code or "provinsi"
            where = f"#{report.pk}"
            if out is not None:
                path = out / report_file_name(report)
                path.write_bytes(bytes(report.pdf))
                where = str(path)
            size = len(report.pdf)
            self.stdout.write(
                f"{report.election.slug}\t{place}\t{report.day}\t{where}\t"
                f"{report.pages} halaman\t{size} byte"
            )
        if not count:
            self.stdout.write(f"Tidak ada laporan baru untuk {day:%Y-%m-%d}.")
