"""Give an office a new Suket signing key; with --compromised, withdraw the old one entirely."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rekam.accounts.models import Office, User
from rekam.suket.keys import office_key_rotate
from rekam.suket.models import OfficeKey, Suket


class Command(BaseCommand):
    help = (
        "Rotate an office's Suket signing key. The old key stays published for Sukets issued "
        "until today; with --compromised it is withdrawn and the Sukets it signed are revoked "
        "(they stop verifying and can be issued again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--office", required=True, help="office code, e.g. 18.71")
        parser.add_argument(
            "--compromised",
            action="store_true",
            help="the old key leaked: withdraw it and everything it signed",
        )
        parser.add_argument("--user", help="username the rotation acts for (checks jurisdiction)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            office = Office.objects.select_related("region").get(code=opts["office"])
        except Office.DoesNotExist:
            raise CommandError(f"Kantor dengan kode '{opts['office']}' tidak ditemukan.") from None
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"Pengguna aktif '{opts['user']}' tidak ditemukan.")
        old = list(
            OfficeKey.objects.filter(office=office, retired_at__isnull=True).values_list(
                "kid", flat=True
            )
        )
        try:
            key = office_key_rotate(
                office=office, acting_user=user, compromised=opts["compromised"]
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        for kid in old:
            if opts["compromised"]:
                signed = Suket.objects.filter(key__kid=kid).count()
                self.stdout.write(
                    f"Kunci {kid} ditarik (bocor): tidak lagi diterbitkan; {signed} Suket yang "
                    "ditandatanganinya tidak sah lagi dan dapat diterbitkan ulang."
                )
            else:
                self.stdout.write(
                    f"Kunci {kid} dipensiunkan: sah untuk Suket terbit s.d. hari ini."
                )
        self.stdout.write(f"Kunci aktif baru {office.code}: {key.kid}")
