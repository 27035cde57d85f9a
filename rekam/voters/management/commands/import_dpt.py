import time
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.lib.tabular import NOTHING_ACCEPTED, REJECTED, TabularError, nothing_accepted
from rekam.residents.management.commands._common import acting_user
from rekam.voters.importer import ISSUE_SAMPLE, dpt_import

from ._common import election_by_slug

# Rejected rows printed on the terminal; all of them are in the report.
SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import an election's final voter list (DPT) from a CSV or XLSX file as KPU publishes "
        "it. Rejected rows are written to a CSV report with their line and reason; voters "
        "added, removed or changed since the previous version to a second report."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV or XLSX file")
        parser.add_argument("--election", required=True, help="the election's slug")
        parser.add_argument(
            "--regency",
            help="Kemendagri code of the file's regency/city (18.71) when the "
            "file has no KABUPATEN/KOTA column",
        )
        parser.add_argument("--user", help="username the import acts for (checks jurisdiction)")
        parser.add_argument("--report", type=Path, help="report file (default: IMPORT_REPORT_DIR)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        election = election_by_slug(options["election"])
        user = acting_user(options["user"])
        verbose = options["verbosity"] > 0
        try:
            result = dpt_import(
                path=options["file"],
                election=election,
                acting_user=user,
                regency=options["regency"],
                report_path=options["report"],
                on_stage=(lambda text: self.stdout.write(f"• {text}")) if verbose else None,
            )
        except TabularError as exc:
            raise CommandError(f"{options['file']}: {exc.message}") from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        rejected = [i for i in result.issues if i.level == REJECTED]
        for issue in rejected[:SHOWN]:
            self.stdout.write(f"baris {issue.line}: ditolak: {issue.reason} [{issue.key}]")
        if result.rejected > min(len(rejected), SHOWN) or len(result.issues) >= ISSUE_SAMPLE:
            self.stdout.write(f"... baris lain yang ditolak ada di laporan {result.report_path}")
        for line in result.summary():
            self.stdout.write(line)
        problem = nothing_accepted(rows_read=result.rows_read, accepted=result.accepted)
        if problem:
            self.stdout.write(NOTHING_ACCEPTED[problem])
        self.stdout.write(f"Selesai dalam {time.perf_counter() - started:.1f} detik.")
