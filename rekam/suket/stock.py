"""Blank-card stock: the ledger, printing a card on a blank, hand-over, and stock forecasts.

Every movement locks the office's :class:`BlankStock` row (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the IMMEDIATE transaction already holds the database's write lock), checks
the balance, updates it and writes a ledger line with the balance after. A database constraint
keeps the balance from ever going below zero should any path skip the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.accounts.models import Office
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.residents.eligibility import birth_date_limit
from rekam.residents.models import MaritalStatus, Resident
from rekam.residents.services import record_move
from rekam.residents.states import KtpState

from .models import BlankMovement, BlankStock, CardPrint, Printer

# Days of consumption the forecast averages over.
USE_WINDOW_DAYS = 14


class StockError(Exception):
    """A stock movement that cannot be made; ``message`` is in Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _actor(acting_user: Any) -> Any:
    return acting_user if getattr(acting_user, "pk", None) else None


def _label(acting_user: Any, default: str) -> str:
    return acting_user.get_username() if _actor(acting_user) else default


def office_for_region(regency_code: str) -> Office:
    return Office.objects.select_related("region", "region__parent").get(region_id=regency_code)


def _locked_stock(office: Office) -> BlankStock:
    BlankStock.objects.get_or_create(office=office)
    return BlankStock.objects.select_for_update().get(office=office)


def _move(
    *,
    office: Office,
    kind: str,
    quantity: int,
    at: datetime,
    acting_user: Any,
    label: str,
    **fields: Any,
) -> BlankMovement:
    """Apply one signed movement to ``office``'s locked stock row; the caller is atomic."""
    stock = _locked_stock(office)
    if stock.balance + quantity < 0:
        if stock.balance == 0:
            raise StockError(f"Blangko KTP-el di {office.name} habis.")
        raise StockError(
            f"Stok blangko {office.name} hanya {stock.balance}, tidak cukup untuk {-quantity}."
        )
    BlankStock.objects.filter(pk=stock.pk).update(
        balance=F("balance") + quantity, updated_at=timezone.now()
    )
    return BlankMovement.objects.create(
        office=office,
        kind=kind,
        quantity=quantity,
        balance_after=stock.balance + quantity,
        at=at,
        actor=_actor(acting_user),
        actor_label=_label(acting_user, label),
        **fields,
    )


def _check_range(count: int, serial_from: str, serial_to: str) -> None:
    if count <= 0:
        raise StockError("Jumlah blangko harus lebih dari nol.")
    if bool(serial_from) != bool(serial_to):
        raise StockError("Isi nomor seri awal dan akhir, atau kosongkan keduanya.")
    if serial_from.isdigit() and serial_to.isdigit():
        span = int(serial_to) - int(serial_from) + 1
        if span != count:
            raise StockError(
                f"Rentang nomor seri {serial_from}-{serial_to} berisi {max(span, 0)} blangko, "
                f"bukan {count}."
            )


@transaction.atomic
def blank_receive(
    *,
    office: Office,
    count: int,
    batch: str,
    serial_from: str = "",
    serial_to: str = "",
    received_on: date | None = None,
    acting_user: Any = None,
) -> BlankMovement:
    """Blank cards received from Ditjen Dukcapil, with their batch and serial range."""
    if acting_user is not None:
        require(acting_user, Action.RECEIVE_STOCK, office.region_id)
    serial_from, serial_to = serial_from.strip(), serial_to.strip()
    _check_range(count, serial_from, serial_to)
    if not batch.strip():
        raise StockError("Nomor batch penerimaan wajib diisi.")
    now = timezone.now()
    movement = _move(
        office=office,
        kind=BlankMovement.Kind.RECEIPT,
        quantity=count,
        at=now,
        acting_user=acting_user,
        label="system",
        batch=batch.strip(),
        serial_from=serial_from,
        serial_to=serial_to,
        received_on=received_on or timezone.localdate(now),
    )
    audit_record(
        acting_user=acting_user,
        action="blank.receive",
        obj=movement,
        changes={"balance": [movement.balance_after - count, movement.balance_after]},
        reason=f"batch {batch}",
    )
    return movement


@transaction.atomic
def blank_transfer(
    *,
    from_office: Office,
    to_office: Office,
    count: int,
    acting_user: Any = None,
    reason: str = "",
    batch: str = "",
    serial_from: str = "",
    serial_to: str = "",
) -> tuple[BlankMovement, BlankMovement]:
    """Move blank cards between offices; only the province (jurisdiction over both) may."""
    if acting_user is not None:
        require(acting_user, Action.TRANSFER_STOCK, from_office.region_id)
        require(acting_user, Action.TRANSFER_STOCK, to_office.region_id)
    if from_office.pk == to_office.pk:
        raise StockError("Kantor asal dan tujuan sama.")
    serial_from, serial_to = serial_from.strip(), serial_to.strip()
    _check_range(count, serial_from, serial_to)
    # Lock both rows in a fixed order so two opposite transfers cannot deadlock.
    for office in sorted((from_office, to_office), key=lambda o: o.pk):
        _locked_stock(office)
    now = timezone.now()
    extra = {"batch": batch, "serial_from": serial_from, "serial_to": serial_to, "reason": reason}
    out = _move(
        office=from_office,
        kind=BlankMovement.Kind.TRANSFER_OUT,
        quantity=-count,
        at=now,
        acting_user=acting_user,
        label="system",
        counterpart=to_office,
        **extra,
    )
    into = _move(
        office=to_office,
        kind=BlankMovement.Kind.TRANSFER_IN,
        quantity=count,
        at=now,
        acting_user=acting_user,
        label="system",
        counterpart=from_office,
        **extra,
    )
    audit_record(
        acting_user=acting_user,
        action="blank.transfer",
        obj=out,
        changes={"from": [from_office.code, None], "to": [None, to_office.code]},
        reason=f"{count} blangko. {reason}".strip(),
    )
    return out, into


def _check_serial_unused(serial: str) -> None:
    """A blank is used once: printed on, or spoiled, never both."""
    if CardPrint.objects.filter(card_serial=serial).exists():
        raise StockError(f"Blangko nomor seri {serial} sudah dipakai untuk mencetak kartu.")
    spoiled = BlankMovement.objects.filter(kind=BlankMovement.Kind.SPOILED, card_serial=serial)
    if spoiled.exists():
        raise StockError(f"Blangko nomor seri {serial} sudah tercatat rusak.")


@transaction.atomic
def blank_spoil(
    *,
    office: Office,
    count: int,
    reason: str,
    acting_user: Any = None,
    card_serial: str = "",
) -> BlankMovement:
    """Blank cards lost to a misprint or damage, with the reason."""
    if acting_user is not None:
        require(acting_user, Action.PRINT_CARD, office.region_id)
    if count <= 0:
        raise StockError("Jumlah blangko harus lebih dari nol.")
    if not reason.strip():
        raise StockError("Alasan blangko rusak wajib diisi.")
    serial = card_serial.strip().upper()
    if serial:
        _check_serial_unused(serial)
    movement = _move(
        office=office,
        kind=BlankMovement.Kind.SPOILED,
        quantity=-count,
        at=timezone.now(),
        acting_user=acting_user,
        label="system",
        reason=reason.strip()[:300],
        card_serial=serial,
    )
    audit_record(
        acting_user=acting_user,
        action="blank.spoil",
        obj=movement,
        changes={"balance": [movement.balance_after + count, movement.balance_after]},
        reason=reason,
    )
    return movement


@transaction.atomic
def card_print(
    *,
    resident: Resident,
    card_serial: str,
    acting_user: Any,
    at: datetime | None = None,
    actor_label: str = "",
) -> CardPrint:
    """Print ``resident``'s KTP-el: consume a blank, record the serial and operator and move the
    record to CARD_PRINTED; the move revokes the resident's Sukets (the card supersedes them)
    through ``records_moved``, as a card printed elsewhere does.
    """
    serial = card_serial.strip().upper()
    if not serial:
        raise StockError("Nomor seri blangko wajib diisi.")
    require(acting_user, Action.PRINT_CARD, resident.regency_id)
    if resident.ktp_state != KtpState.PRINT_READY_RECORD:
        raise StockError("KTP-el hanya dapat dicetak untuk data berstatus PRR.")
    _check_serial_unused(serial)
    office = office_for_region(str(resident.regency_id))
    if not printer_working(office):
        # The same fact that lets the office issue a Suket for a technical problem (R6).
        raise StockError(
            "Printer kartu kantor ini tercatat rusak: perbaiki dulu dan tandai berfungsi di "
            "halaman stok blangko, atau terbitkan Suket karena kendala teknis."
        )
    at = at or timezone.now()
    label = actor_label or _label(acting_user, "system")
    _move(
        office=office,
        kind=BlankMovement.Kind.CONSUMED,
        quantity=-1,
        at=at,
        acting_user=acting_user,
        label=label,
        card_serial=serial,
    )
    # Raises MoveRefused (and rolls the blank back) if another counter printed it first.
    record_move(
        resident=resident,
        to_state=KtpState.CARD_PRINTED,
        acting_user=acting_user,
        reason=f"dicetak pada blangko {serial}",
        at=at,
        actor_label=label,
        printing=True,
    )
    card = CardPrint.objects.create(
        resident=resident,
        office=office,
        card_serial=serial,
        printed_at=at,
        operator=_actor(acting_user),
        operator_label=label,
    )
    audit_record(
        acting_user=acting_user,
        action="card.print",
        obj=card,
        changes={"card_serial": [None, serial]},
        actor_label=label,
    )
    return card


@transaction.atomic
def card_hand_over(
    *, card: CardPrint, received_by: str, acting_user: Any = None, at: datetime | None = None
) -> CardPrint:
    """Record that the printed card reached the resident (or whom it was given to)."""
    if acting_user is not None:
        require(acting_user, Action.PRINT_CARD, card.resident.regency_id)
    if card.handed_over_at is not None:
        raise StockError("KTP-el ini sudah diserahkan.")
    if not received_by.strip():
        raise StockError("Nama penerima wajib diisi.")
    card.handed_over_at = at or timezone.now()
    card.handed_over_by = _actor(acting_user)
    card.received_by = received_by.strip()[:150]
    card.save(update_fields=["handed_over_at", "handed_over_by", "received_by"])
    audit_record(
        acting_user=acting_user,
        action="card.hand_over",
        obj=card,
        changes={"received_by": [None, card.received_by]},
    )
    return card


@transaction.atomic
def printer_set_status(
    *, printer: Printer, working: bool, problem: str = "", acting_user: Any = None
) -> Printer:
    if acting_user is not None:
        require(acting_user, Action.PRINT_CARD, printer.office.region_id)
    if not working and not problem.strip():
        raise StockError("Jelaskan kendala printer.")
    old = printer.is_working
    printer.is_working = working
    printer.problem = "" if working else problem.strip()[:300]
    printer.save(update_fields=["is_working", "problem", "updated_at"])
    audit_record(
        acting_user=acting_user,
        action="printer.status",
        obj=printer,
        changes={"is_working": [old, working]},
        reason=printer.problem,
    )
    return printer


def printer_working(office: Office) -> bool:
    """Whether the office can print: an office with no printer on record is assumed able to,
    so that a missing setup never turns a PRR resident into a Suket (rule R2)."""
    printers = list(Printer.objects.filter(office=office).values_list("is_working", flat=True))
    return not printers or any(printers)


def stock_balance(office: Office) -> int:
    row = BlankStock.objects.filter(office=office).values_list("balance", flat=True).first()
    return row or 0


@dataclass(frozen=True)
class StockSummary:
    office: Office
    balance: int
    daily_use: float  # blanks per day over the recent window
    days_left: float | None  # None: no recent use
    prr_backlog: int  # residents waiting at PRR in the office's region
    shortfall: int  # blanks missing to print the whole backlog


def stock_summary(office: Office, today: date | None = None) -> StockSummary:
    today = today or timezone.localdate()
    since = datetime.combine(today - timedelta(days=USE_WINDOW_DAYS - 1), datetime.min.time())
    used = BlankMovement.objects.filter(
        office=office,
        kind__in=[BlankMovement.Kind.CONSUMED, BlankMovement.Kind.SPOILED],
        at__gte=timezone.make_aware(since),
    ).aggregate(n=Sum("quantity"))["n"]
    daily = -(used or 0) / USE_WINDOW_DAYS
    balance = stock_balance(office)
    backlog = _residents_of(office).filter(ktp_state=KtpState.PRINT_READY_RECORD).count()
    return StockSummary(
        office=office,
        balance=balance,
        daily_use=daily,
        days_left=balance / daily if daily > 0 else None,
        prr_backlog=backlog,
        shortfall=max(backlog - balance, 0),
    )


def _residents_of(office: Office) -> QuerySet[Resident]:
    if office.kind == Office.Kind.PROVINCE:
        return Resident.objects.filter(regency__code__startswith=office.region_id + ".")
    return Resident.objects.filter(regency_id=office.region_id)


def upcoming_election(office: Office, today: date) -> Election | None:
    """The nearest election, on or after ``today``, held in the office's regency/city."""
    return (
        Election.objects.filter(regions=office.region_id, polling_day__gte=today)
        .order_by("polling_day")
        .first()
    )


def print_list(office: Office, today: date | None = None) -> QuerySet[Resident]:
    """Today's print list: PRR residents, voters of the upcoming election first, oldest PRR first.

    The voter list is not in Rekam yet, so a voter is read as a resident of a region holding an
    upcoming election who must hold a KTP-el by its polling day (17 or older, or ever married);
    ``is_voter`` is annotated on each row.
    """
    today = today or timezone.localdate()
    rows = _residents_of(office).filter(ktp_state=KtpState.PRINT_READY_RECORD)
    election = upcoming_election(office, today)
    voter: Value | Case
    if election is None:
        voter = Value(0, output_field=IntegerField())
    else:
        must_hold = Q(birth_date__lte=birth_date_limit(election.polling_day)) | ~Q(
            marital_status=MaritalStatus.SINGLE
        )
        voter = Case(When(must_hold, then=1), default=0, output_field=IntegerField())
    return (
        rows.annotate(is_voter=voter)
        .select_related("village", "village__parent")
        .order_by("-is_voter", F("ktp_state_at").asc(nulls_first=True), "id")
    )
