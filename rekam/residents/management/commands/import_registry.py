from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.lib.tabular import REJECTED, RowIssue, TabularError
from rekam.residents.importers import registry_import, summarise

from ._common import acting_user


class Command(BaseCommand):
    help = (
        "Import the population registry from a CSV or XLSX file. Rejected rows are printed "
        "with their line number and written to a CSV report."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV or XLSX file")
        parser.add_argument("--user", help="username the import acts for (checks jurisdiction)")
        parser.add_argument("--report", type=Path, help="report file (default: IMPORT_REPORT_DIR)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file without saving anything"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--single-process",
            action="store_true",
            help="read and check the file in this process too (default: a second process "
            "does so for large files)",
        )

    def handle(self, *args, **options):
        user = acting_user(options["user"])

        def show(issue: RowIssue) -> None:
            if issue.level == REJECTED:
                self.stdout.write(f"baris {issue.line}: ditolak: {issue.reason} [{issue.key}]")

        try:
            result = registry_import(
                path=options["file"],
                acting_user=user,
                report_path=options["report"],
                dry_run=options["dry_run"],
                progress=not options["no_progress"],
                on_issue=show,
                parallel=False if options["single_process"] else None,
            )
        except TabularError as exc:
            raise CommandError(f"{options['file']}: {exc.message}") from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        for line in summarise(result):
            self.stdout.write(line)
