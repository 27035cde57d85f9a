import time

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.residents.management.commands._common import acting_user
from rekam.voters.models import VoterClass
from rekam.voters.reconcile import ReconcileRefused, reconcile

from ._common import election_by_slug


class Command(BaseCommand):
    help = (
        "Reconcile an election's voter list with the registry: classify every voter, flag "
        "first-time voters and Sukets expiring before polling day, propose candidate matches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--election", required=True, help="the election's slug")
        parser.add_argument(
            "--regency",
            action="append",
            help="only this regency/city (Kemendagri code; repeat for several)",
        )
        parser.add_argument("--user", help="username the run acts for (checks jurisdiction)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        election = election_by_slug(options["election"])
        user = acting_user(options["user"])
        verbose = options["verbosity"] > 0
        try:
            run = reconcile(
                election=election,
                acting_user=user,
                regencies=options["regency"],
                on_stage=(lambda text: self.stdout.write(f"• {text}")) if verbose else None,
            )
        except ReconcileRefused as exc:
            raise CommandError(exc.message) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Pemilih: {run.voters} ({', '.join(run.regencies)})")
        for klass in VoterClass:
            self.stdout.write(f"  {klass.value}: {run.totals.get(klass.value, 0)}")
        self.stdout.write(f"Pemilih pemula: {run.totals.get('first_time', 0)}")
        self.stdout.write(
            f"Suket habis berlaku sebelum hari pemungutan: {run.totals.get('suket_expiring', 0)}"
        )
        self.stdout.write(f"Hasil berubah sejak pencocokan sebelumnya: {run.changed}")
        self.stdout.write(f"Kandidat kecocokan baru: {run.candidates}")
        self.stdout.write(f"Selesai dalam {time.perf_counter() - started:.1f} detik.")
