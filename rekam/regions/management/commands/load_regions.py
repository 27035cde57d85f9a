from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rekam.regions.loader import load_province


class Command(BaseCommand):
    help = "Load the Kemendagri regions of one or more provinces from data/regions/<name>/."

    def add_arguments(self, parser):
        parser.add_argument(
            "folders",
            nargs="*",
            help="province data folders (default: every folder under data/regions)",
        )

    def handle(self, *args, **options):
        folders = [Path(f) for f in options["folders"]] or sorted(
            p for p in Path(settings.REGION_DATA_DIR).iterdir() if p.is_dir()
        )
        for folder in folders:
            try:
                r = load_province(folder)
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"{folder}: {exc}") from exc
            self.stdout.write(
                f"{folder.name}: {r.provinces} provinsi, {r.regencies} kabupaten/kota, "
                f"{r.districts} kecamatan, {r.villages} desa/kelurahan, "
                f"{r.boundaries} batas wilayah"
            )
