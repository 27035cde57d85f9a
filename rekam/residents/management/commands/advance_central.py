from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rekam.lib.dates import DateError, parse_datetime
from rekam.residents.central import CLOCK_SKEW, apply_updates
from rekam.residents.simulator import SimulatedCentralSystem


class Command(BaseCommand):
    help = (
        "Let the simulated central system move recorded residents along to a moment "
        "(default: now), through the state table."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", help="the simulated moment, e.g. 2020-12-01 or 01-12-2020 08:00 (WIB)"
        )
        parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = parse_datetime(options["now"], label="--now")
            except DateError as exc:
                raise CommandError(exc.message) from exc
            real = timezone.now()
            if now > real + CLOCK_SKEW:
                raise CommandError(
                    f"--now {timezone.localtime(now):%d-%m-%Y %H:%M} di masa depan: sistem "
                    "pusat tidak dapat melaporkan status yang belum terjadi."
                )
            now = min(now, real)  # a few minutes ahead: up to now, never later
        system = SimulatedCentralSystem(now=now, seed=options["seed"])
        result = apply_updates(system, progress=not options["no_progress"])
        for issue in result.issues:
            self.stdout.write(f"{issue.key}: {issue.level}: {issue.reason}")
        for line in result.summary():
            self.stdout.write(line)
