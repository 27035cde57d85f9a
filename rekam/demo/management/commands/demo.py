import argparse
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from rekam.accounts.models import Role
from rekam.accounts.services import offices_ensure_for_province
from rekam.antrean.demo import antrean_demo_seed
from rekam.demo.population import DEFAULT_SCALE, DEFAULT_SEED, population_build
from rekam.demo.services import (
    DEMO_PASSWORD,
    DemoLogin,
    demo_users_ensure,
    service_points_ensure_for_demo,
)
from rekam.elections.loader import (
    electing_regions,
    election_load_pilkada_2020_lampung,
    election_load_rehearsal,
)
from rekam.regions.loader import load_province
from rekam.regions.models import Level, Region
from rekam.residents.central import apply_updates
from rekam.residents.models import Resident
from rekam.residents.simulator import SimulatedCentralSystem
from rekam.suket.demo import suket_demo_seed
from rekam.voters.demo import voters_demo_build

# Role names for the logins table (commands run without a language, so not via gettext).
ROLE_NAMES: dict[str, str] = {
    Role.PROVINCE_ADMIN: "Admin provinsi",
    Role.REGENCY_ADMIN: "Admin kabupaten/kota",
    Role.SUPERVISOR: "Supervisor",
    Role.OPERATOR: "Operator",
    Role.QUEUE_OFFICER: "Petugas antrean",
}


def _n(number: int) -> str:
    """A count with Indonesian thousands separators (91.443)."""
    return f"{number:,}".replace(",", ".")


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"skala harus bilangan lebih dari 0, bukan {text!r}")
    return value


class Command(BaseCommand):
    verbosity = 1
    help = (
        "Build the demo (database, regions, offices, service points, elections, staff accounts "
        "and a synthetic population), print the demo logins and serve on 127.0.0.1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=_scale,
            default=DEFAULT_SCALE,
            help="share of Lampung's 9.1 million residents to generate (default 0.01; 1 = all)",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same people"
        )
        parser.add_argument("--no-serve", action="store_true", help="build only, do not serve")
        parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1")

    def step(self, text: str) -> None:
        if self.verbosity > 0:
            self.stdout.write(f"• {text}")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        scale = float(options["scale"])
        seed = int(options["seed"])
        self.verbosity = int(options["verbosity"])
        if "://" not in settings.SUKET_VERIFY_URL:
            # A Suket printed with a bare path points nowhere: the demo's own verifier instead.
            settings.SUKET_VERIFY_URL = f"http://127.0.0.1:{options['port']}/verifikasi"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        self.step("Basis data siap")

        folders = sorted(p for p in Path(settings.REGION_DATA_DIR).iterdir() if p.is_dir())
        if not folders:
            raise CommandError(f"Tidak ada data wilayah di {settings.REGION_DATA_DIR}")
        for folder in folders:
            loaded = load_province(folder)
            self.step(
                f"Wilayah {folder.name}: {loaded.regencies} kabupaten/kota, "
                f"{loaded.districts} kecamatan, {loaded.villages} desa/kelurahan"
            )
        offices = []
        for code in Region.objects.filter(level=Level.PROVINCE).values_list("code", flat=True):
            offices += offices_ensure_for_province(province_code=code)
        self.step(f"Kantor Disdukcapil: {len(offices)}")

        electing = [r.regency_code for r in electing_regions()]
        points = service_points_ensure_for_demo(electing_regions=electing)
        self.step(f"Tempat layanan: {len(points)}")

        today = timezone.localdate()
        pilkada = election_load_pilkada_2020_lampung()
        rehearsal = election_load_rehearsal(today=today)
        for election in (pilkada, rehearsal):
            self.step(
                f"{election.name}: pemungutan suara {election.polling_day:%d-%m-%Y}, "
                f"Suket terbit s.d. {election.suket_issue_until:%d-%m-%Y}, "
                f"berlaku s.d. {election.suket_valid_until:%d-%m-%Y}, "
                f"{election.regions.count()} kabupaten/kota"
            )
        logins = demo_users_ensure()

        result = population_build(scale=scale, seed=seed, today=today, progress=self.verbosity > 0)
        if result.reused:
            self.step(
                f"Penduduk sintetis (skala {scale:g}, seed {seed}) sudah ada: "
                f"{_n(result.residents)} penduduk dipakai ulang, tidak dibangun lagi"
            )
        else:
            self.step(
                f"Penduduk sintetis (skala {scale:g}, seed {seed}): {_n(result.residents)} "
                f"penduduk, {_n(result.events)} riwayat status dalam {result.seconds:.1f} detik "
                f"({_n(round(result.per_second))} penduduk/detik)"
            )
            self.advance_central(result.batch.pk, seed)
        for election in (pilkada, rehearsal):
            voters = voters_demo_build(election=election, seed=seed)
            if voters.imported is None:
                self.step(f"DPT {election.name}: {_n(voters.rows)} baris dipakai ulang")
            else:
                self.step(
                    f"DPT {election.name}: {_n(voters.rows)} baris, "
                    f"{_n(voters.imported.accepted)} pemilih diimpor dan dicocokkan, "
                    f"{_n(voters.imported.rejected)} baris ditolak (lihat laporan impor)"
                )
        sukets = suket_demo_seed(election=rehearsal)
        self.step(
            f"Blangko KTP-el dan Suket: {_n(sukets.blanks)} blangko di {sukets.offices} kantor, "
            f"{sukets.sukets} Suket {rehearsal.name}; blangko habis di {sukets.out_of_blanks}"
        )
        # After the blanks and printers: the counters print cards and issue Sukets.
        queue = antrean_demo_seed(today=today, seed=seed, now=timezone.now())
        morning = "pagi ini" if queue.day == today else f"pagi {queue.day:%d-%m-%Y}"
        self.step(
            f"Antrean {morning} di {queue.points} kantor: {_n(queue.tickets)} nomor, "
            f"{_n(queue.served)} dilayani, {_n(queue.waiting)} menunggu"
        )

        # Also without serving: `rekam runserver` afterwards serves the collected files.
        call_command("collectstatic", interactive=False, verbosity=0)
        self.print_logins(logins)
        self.stdout.write(f"Selesai dalam {time.perf_counter() - started:.1f} detik.")
        if options["no_serve"]:
            return
        url = f"http://127.0.0.1:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Demo berjalan di {url} (Ctrl+C untuk berhenti)"))
        call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)

    def advance_central(self, batch_id: int, seed: int) -> None:
        """Let the central system simulator move the freshly built records along."""
        residents = Resident.objects.filter(import_batch_id=batch_id)
        applied = apply_updates(
            SimulatedCentralSystem(now=timezone.now(), seed=seed, residents=residents)
        )
        self.step(f"Simulasi sistem pusat (SIAK): {applied.moved} status berpindah")

    def print_logins(self, logins: list[DemoLogin]) -> None:
        rows = [("Peran", "Kantor", "Nama pengguna", "Kata sandi")] + [
            (ROLE_NAMES.get(login.role, login.role), login.office, login.username, login.password)
            for login in logins
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        line = "-+-".join("-" * w for w in widths)
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Akun demo"))
        self.stdout.write(line)
        for n, row in enumerate(rows):
            self.stdout.write(
                " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            )
            if n == 0:
                self.stdout.write(line)
        self.stdout.write(line)
        self.stdout.write(
            self.style.WARNING(
                f"Kata sandi '{DEMO_PASSWORD}' hanya untuk demo: "
                "jangan dipakai untuk data sungguhan."
            )
        )
        self.stdout.write("")
