from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.lib.tabular import RowIssue, TabularError
from rekam.residents.importers import statuses_import

from ._common import acting_user


class Command(BaseCommand):
    help = (
        "Import a central (SIAK) status export (NIK, status, timestamp) from CSV or XLSX; "
        "moves go through the state table, refused ones are reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV or XLSX file")
        parser.add_argument("--user", help="username the import acts for (checks jurisdiction)")
        parser.add_argument("--report", type=Path, help="report file (default: IMPORT_REPORT_DIR)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        user = acting_user(options["user"])

        def show(issue: RowIssue) -> None:
            self.stdout.write(f"baris {issue.line}: {issue.level}: {issue.reason} [{issue.key}]")

        try:
            result = statuses_import(
                path=options["file"],
                acting_user=user,
                report_path=options["report"],
                progress=not options["no_progress"],
                on_issue=show,
            )
        except TabularError as exc:
            raise CommandError(f"{options['file']}: {exc.message}") from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        for line in result.summary():
            self.stdout.write(line)
