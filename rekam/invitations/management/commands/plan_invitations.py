import time
from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from rekam.invitations.services import plan_run_create, plan_run_execute
from rekam.residents.management.commands._common import acting_user
from rekam.voters.management.commands._common import election_by_slug

LABELS = {"recording": "Belum rekam (perekaman)", "printing": "PRR belum cetak (pencetakan)"}


class Command(BaseCommand):
    help = (
        "Plan invitations for an election: every voter who has not recorded (then every print "
        "ready voter) to a session before polling day, optimal travel, compared with planning "
        "by hand (nearest kecamatan office, first come first served)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--election", required=True, help="the election's slug")
        parser.add_argument("--regency", default="", help="only this regency/city (code)")
        parser.add_argument("--dry-run", action="store_true", help="compare, write nothing")
        parser.add_argument("--start", help="first day of sessions (YYYY-MM-DD; tomorrow)")
        parser.add_argument("--road-factor", type=float, help="road km per straight-line km")
        parser.add_argument("--no-show-rate", type=float, help="over-book by this share")
        parser.add_argument("--user", help="username the plan acts for (checks jurisdiction)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        election = election_by_slug(options["election"])
        user = acting_user(options["user"])
        try:
            run = plan_run_create(
                election=election,
                region_code=options["regency"],
                acting_user=user,
                dry_run=options["dry_run"],
                start=date.fromisoformat(options["start"]) if options["start"] else None,
                road_factor=options["road_factor"],
                no_show_rate=options["no_show_rate"],
            )
            verbose = options["verbosity"] > 0
            run = plan_run_execute(
                run=run,
                acting_user=user,
                progress=(lambda pct, text: self.stdout.write(f"• {pct}% {text}"))
                if verbose
                else None,
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        for service, part in run.summary.items():
            self.stdout.write(f"\n{LABELS.get(service, service)}")
            self.stdout.write(write_comparison(part))
        self.stdout.write(f"\nSelesai dalam {time.perf_counter() - started:.1f} detik.")


def write_comparison(part: dict) -> str:
    plan, base = part["plan"], part["baseline"]
    rows = [
        ("", "optimal", "manual"),
        ("Diundang", plan["invitees"], base["invitees"]),
        ("Terlayani sebelum batas", plan["served"], base["served"]),
        ("Total km", f"{plan['total_km']:.1f}", f"{base['total_km']:.1f}"),
        ("Rata-rata km per orang", f"{plan['mean_km']:.2f}", f"{base['mean_km']:.2f}"),
        ("Sesi penuh", plan["sessions_full"], base["sessions_full"]),
    ]
    lines = [f"  {a:<26}{b!s:>14}{c!s:>14}" for a, b, c in rows]
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
    if "written" in part:
        lines.append(f"  Undangan ditulis: {part['written']}")
    return "\n".join(lines)
