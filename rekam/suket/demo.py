"""Demo data for printing and Sukets: stock and printers everywhere, one office out of blanks,
Sukets already issued in the rehearsal election, and one revoked by a printed card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from rekam.accounts.models import Office, Role, User
from rekam.elections.models import Election
from rekam.residents.models import Resident
from rekam.residents.services import record_move
from rekam.residents.states import AWAITING_CENTRAL_STATES, KtpState, MoveSource

from .models import Printer, Suket
from .services import suket_issue_many
from .stock import blank_receive, blank_serial_next, card_print, stock_balance

# Heads of office for the demo's signature blocks (fictitious names, valid-looking NIPs).
DEMO_HEADS = [
    ("Drs. Zainal Abidin, M.Si.", "196805121990031007"),
    ("Hj. Ratna Dewi, S.H., M.H.", "197203081995032002"),
    ("Ir. Bambang Susanto, M.M.", "196911231994031004"),
    ("Dra. Sri Lestari, M.Si.", "197005171996032001"),
]


@dataclass(frozen=True)
class DemoSuketSummary:
    offices: int
    blanks: int
    out_of_blanks: str
    sukets: int
    revoked: str


def _operator(office: Office) -> User:
    user = User.objects.filter(office=office, role=Role.OPERATOR, is_active=True).first()
    if user is None:
        user, _ = User.objects.get_or_create(
            username=f"demo_cetak_{office.code.replace('.', '')}",
            defaults={"role": Role.OPERATOR, "office": office, "is_staff": True},
        )
    return user


@transaction.atomic
def suket_demo_seed(
    *, election: Election, sukets: int = 24, at: datetime | None = None
) -> DemoSuketSummary:
    """Set up the Suket side of the demo once (a second call changes nothing)."""
    at = at or timezone.now()
    offices = list(Office.objects.filter(kind=Office.Kind.REGENCY).select_related("region"))
    electing = sorted(str(c) for c in election.regions.values_list("code", flat=True))
    empty_code = electing[0] if electing else ""
    if Suket.objects.filter(election=election).exists():
        first = Suket.objects.filter(election=election, revoked_at__isnull=False).first()
        return DemoSuketSummary(
            offices=len(offices),
            blanks=sum(stock_balance(o) for o in offices),
            out_of_blanks=empty_code,
            sukets=Suket.objects.filter(election=election).count(),
            revoked=first.number if first else "",
        )
    # The blanks arrived a week before: before every card the demo prints from them, the
    # queue's morning (today's or yesterday's) included, so the stock book reads in order.
    received = at - timedelta(days=7)
    for n, office in enumerate(offices):
        if not (office.head_name and office.head_nip):
            office.head_name, office.head_nip = DEMO_HEADS[n % len(DEMO_HEADS)]
            office.save(update_fields=["head_name", "head_nip"])
        Printer.objects.get_or_create(office=office, name="Printer KTP-el 1")
        code = office.code.replace(".", "")
        count = 6 if office.region_id == empty_code else 400 + 25 * n
        blank_receive(
            office=office,
            count=count,
            batch=f"DUK-{at.year}-{code}",
            serial_from=f"{code}{1:05d}",
            serial_to=f"{code}{count:05d}",
            received_on=timezone.localdate(received),
            at=received,
        )

    # The office that ran out: its last blanks went to its oldest PRR residents.
    if empty_code:
        office = next(o for o in offices if o.region_id == empty_code)
        operator = _operator(office)
        prr = Resident.objects.filter(regency_id=empty_code, ktp_state=KtpState.PRINT_READY_RECORD)
        for i, resident in enumerate(prr.order_by("ktp_state_at", "id")[: stock_balance(office)]):
            card_print(
                resident=resident,
                card_serial=f"{office.code.replace('.', '')}{i + 1:05d}",
                acting_user=operator,
                at=at,
            )

    # Sukets in the electing regions: records still at the central system, and PRR residents
    # of the office without blanks (BLANKO_HABIS).
    per_region = max(sukets // max(len(electing), 1), 1)
    chosen: list[Resident] = []
    for code in electing:
        waiting = Resident.objects.filter(regency_id=code, ktp_state__in=AWAITING_CENTRAL_STATES)
        chosen += list(waiting.order_by("id")[:per_region])
        if code == empty_code:
            chosen += list(
                Resident.objects.filter(
                    regency_id=code, ktp_state=KtpState.PRINT_READY_RECORD
                ).order_by("id")[:3]
            )
    results = suket_issue_many(residents=chosen, election=election, at=at, actor_label="demo")
    issued = [r.suket for r in results if r.suket is not None]

    # One holder's record reaches PRR and the card is printed: the Suket is revoked.
    revoked = ""
    for suket in issued:
        office = suket.office
        if (
            office.region_id == empty_code
            or suket.resident.ktp_state == KtpState.PRINT_READY_RECORD
        ):
            continue
        resident = suket.resident
        record_move(
            resident=resident,
            to_state=KtpState.PRINT_READY_RECORD,
            source=MoveSource.CENTRAL,
            actor_label="simulator",
            at=at,
        )
        card_print(
            resident=resident,
            card_serial=blank_serial_next(office) or f"{office.code.replace('.', '')}R0001",
            acting_user=_operator(office),
            at=at,
        )
        revoked = suket.number
        break
    return DemoSuketSummary(
        offices=len(offices),
        blanks=sum(stock_balance(o) for o in offices),
        out_of_blanks=empty_code,
        sukets=len(issued),
        revoked=revoked,
    )
