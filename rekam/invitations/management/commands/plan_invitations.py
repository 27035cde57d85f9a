import time
from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.invitations.services import (
    MOBILE_PER_DAY,
    MOBILE_UNITS,
    PlanRefused,
    plan_run_create,
    plan_run_execute,
)
from rekam.residents.management.commands._common import acting_user
from rekam.voters.management.commands._common import election_by_slug

LABELS = {"recording": "Belum rekam (perekaman)", "printing": "PRR belum cetak (pencetakan)"}


class Command(BaseCommand):
    help = (
        "Plan invitations for an election: every voter who has not recorded (then every print "
        "ready voter) to a session before polling day, optimal travel, with mobile units placed "
        "where they serve most, compared with planning by hand (nearest kecamatan office, first "
        "come first served). Without --dry-run the plan is approved and sent at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--election", required=True, help="the election's slug")
        parser.add_argument("--regency", default="", help="only this regency/city (code)")
        parser.add_argument(
            "--dry-run", action="store_true", help="preview: compare, write and send nothing"
        )
        parser.add_argument("--start", help="first day of sessions (YYYY-MM-DD; tomorrow)")
        parser.add_argument("--road-factor", type=float, help="road km per straight-line km")
        parser.add_argument("--no-show-rate", type=float, help="over-book by this share")
        parser.add_argument(
            "--mobile-units",
            type=int,
            default=MOBILE_UNITS,
            help=f"mobile units per regency/city (0: none; {MOBILE_UNITS})",
        )
        parser.add_argument(
            "--mobile-capacity",
            type=int,
            default=MOBILE_PER_DAY,
            metavar="PER_DAY",
            help=f"people a mobile unit serves a day ({MOBILE_PER_DAY})",
        )
        parser.add_argument("--user", help="username the plan acts for (checks jurisdiction)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        election = election_by_slug(options["election"])
        user = acting_user(options["user"])
        if options["mobile_units"] < 0 or options["mobile_capacity"] < 1:
            raise CommandError("--mobile-units must be 0 or more and --mobile-capacity 1 or more")
        try:
            start = date.fromisoformat(options["start"]) if options["start"] else None
        except ValueError:
            raise CommandError("--start harus berupa tanggal TTTT-BB-HH.") from None
        try:
            run = plan_run_create(
                election=election,
                region_code=options["regency"],
                acting_user=user,
                dry_run=options["dry_run"],
                start=start,
                road_factor=options["road_factor"],
                no_show_rate=options["no_show_rate"],
                mobile_units=options["mobile_units"],
                mobile_per_day=options["mobile_capacity"],
            )
            verbose = options["verbosity"] > 0
            run = plan_run_execute(
                run=run,
                acting_user=user,
                progress=(lambda pct, text: self.stdout.write(f"• {pct}% {text}"))
                if verbose
                else None,
            )
        except (PermissionDenied, PlanRefused) as exc:
            raise CommandError(str(exc)) from exc
        for service, part in run.summary.items():
            self.stdout.write(f"\n{LABELS.get(service, service)}")
            self.stdout.write(write_comparison(part))
        if run.dry_run:
            self.stdout.write(f"\nPratinjau #{run.pk}: belum ada yang ditulis atau dikirim.")
        else:
            who = run.approved_by.get_username() if run.approved_by else "sistem"
            self.stdout.write(f"\nRencana #{run.pk} disetujui oleh {who} dan dikirim.")
        self.stdout.write(f"Selesai dalam {time.perf_counter() - started:.1f} detik.")


def write_comparison(part: dict) -> str:
    plan, base, mobile = part["plan"], part["baseline"], part.get("mobile")
    heads: tuple[str, ...] = ("", "optimal", "manual")
    columns = [plan, base]
    if mobile:
        heads = ("", "+ keliling", "optimal", "manual")
        columns = [mobile["plan"], plan, base]

    def row(label: str, *values: object) -> str:
        return f"  {label:<26}" + "".join(f"{v!s:>14}" for v in values)

    lines = [
        row(*heads),
        row("Diundang", *(c["invitees"] for c in columns)),
        row("Terlayani sebelum batas", *(c["served"] for c in columns)),
        row("Total km", *(f"{c['total_km']:.1f}" for c in columns)),
        row("Rata-rata km per orang", *(f"{c['mean_km']:.2f}" for c in columns)),
        row("Sesi penuh", *(c["sessions_full"] for c in columns)),
    ]
    lines.append(
        f"  Celah optimalitas: {100 * plan['gap']:.4f} %  (waktu solusi {plan['seconds']} s)"
    )
    short = plan["invitees"] - plan["served"]
    if short:
        where = ", ".join(f"{k}: {v}" for k, v in sorted(part["shortfall"].items()))
        lines.append(
            f"  Tidak terlayani: {short} ({where}); perlu sekitar "
            f"{part['sessions_to_close_gap']} sesi tambahan"
        )
    if mobile:
        lines.extend(write_mobile(mobile))
    if "written" in part:
        lines.append(f"  Undangan ditulis: {part['written']}")
    if "messages" in part:
        lines.append(f"  Pesan di kotak keluar: {part['messages']}")
    return "\n".join(lines)


def write_mobile(mobile: dict) -> list[str]:
    lines = [
        f"  Layanan keliling: {mobile['units']} unit per kabupaten/kota, {mobile['per_day']} "
        f"orang per hari; {mobile['unit_days']} dari {mobile['unit_days_free']} hari-unit "
        "terpakai"
    ]
    if mobile.get("solver"):
        lines.append(
            f"  Metode: MIP ({mobile['solver']} melalui OR-Tools), {mobile['status']}, "
            f"{mobile['seconds']} s; "
            f"dalam {100 * mobile['gap']:.4f} % dari optimal (batas terbaik)"
        )
    for v in mobile["visits"]:
        lines.append(f"    {v['day']}  {v['unit_name']:<40} {v['village']} {v['village_name']}")
    return lines
