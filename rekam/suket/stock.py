"""Blank-card stock: the ledger, printing a card on a blank, hand-over, and stock forecasts.

Every movement locks the office's :class:`BlankStock` row (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the IMMEDIATE transaction already holds the database's write lock), checks
the balance, updates it and writes a ledger line with the balance after. A database constraint
keeps the balance from ever going below zero should any path skip the check. A receipt also
locks the province offices' rows, which serialise receipts for the check that no serial range
is received twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
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

# Days the blank-card use rate (cards printed plus blanks spoiled per day), and so the days of
# stock left, is averaged over. The stock page, the dashboard and its PDF report all read it
# through :func:`blanks_used`; their labels say "7 days" ("7 hari").
USE_WINDOW_DAYS = 7
# What uses up a blank: a card printed on it, or a blank spoiled.
USED_KINDS = (BlankMovement.Kind.CONSUMED, BlankMovement.Kind.SPOILED)


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
    elif serial_from.upper() > serial_to.upper():
        # A range given last first would hold no serial, and so overlap none.
        raise StockError(
            f"Nomor seri awal {serial_from} tidak boleh lebih besar dari nomor seri akhir "
            f"{serial_to}."
        )


def _lock_for_receipt(office: Office) -> None:
    """Lock ``office``'s stock row and every province office's: serial numbers are unique
    nationally, so the province offices' rows serialise all receipts and two overlapping
    ranges received at the same moment cannot both pass :func:`_check_range_not_received`.
    By id, the order transfers lock in, so that neither can deadlock the other."""
    provinces = Office.objects.filter(kind=Office.Kind.PROVINCE)
    for locked in sorted({office, *provinces}, key=lambda o: o.pk):
        _locked_stock(locked)


def _check_range_not_received(serial_from: str, serial_to: str) -> None:
    """A serial range overlapping one received before, at any office, is refused, naming the
    earliest such receipt. The caller holds :func:`_lock_for_receipt`."""
    if not serial_from:
        return
    # Few rows: a receipt is a batch, not a card (read by the (kind, card_serial) index).
    receipts = (
        BlankMovement.objects.filter(kind=BlankMovement.Kind.RECEIPT)
        .exclude(serial_from="")
        .order_by("at", "id")
        .values_list("pk", "serial_from", "serial_to")
    )
    overlapping = [
        pk
        for pk, first, last in receipts
        if serial_ranges_overlap(serial_from, serial_to, first, last)
    ]
    if not overlapping:
        return
    earlier = BlankMovement.objects.select_related("office").get(pk=overlapping[0])
    received_on = earlier.received_on or timezone.localdate(earlier.at)
    others = f" dan {len(overlapping) - 1} penerimaan lainnya" if len(overlapping) > 1 else ""
    raise StockError(
        f"Nomor seri {serial_from} s.d. {serial_to} bertumpang tindih dengan blangko yang sudah "
        f"dicatat diterima di {earlier.office.name} pada {received_on:%d-%m-%Y} (kiriman "
        f"{earlier.batch}, nomor seri {earlier.serial_from} s.d. {earlier.serial_to}){others}. "
        "Satu nomor seri hanya ada pada satu blangko di seluruh Indonesia: periksa nomor seri "
        "pada dokumen pengiriman."
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
    at: datetime | None = None,
) -> BlankMovement:
    """Blank cards received from Ditjen Dukcapil, with their batch and serial range; ``at``
    dates the ledger line when it is recorded after the fact (as ``card_print`` does)."""
    if acting_user is not None:
        require(acting_user, Action.RECEIVE_STOCK, office.region_id)
    serial_from, serial_to = serial_from.strip(), serial_to.strip()
    _check_range(count, serial_from, serial_to)
    if not batch.strip():
        raise StockError("Nomor kiriman wajib diisi.")
    at = at or timezone.now()
    # The locks first: a receipt sent twice (a double click), or a range received at the same
    # moment elsewhere, then sees the first.
    _lock_for_receipt(office)
    earlier = BlankMovement.objects.filter(
        office=office, kind=BlankMovement.Kind.RECEIPT, batch__iexact=batch.strip()
    ).first()
    if earlier is not None:
        raise StockError(
            f"Kiriman {batch.strip()} sudah dicatat diterima di {office.name} pada "
            f"{timezone.localtime(earlier.at):%d-%m-%Y %H.%M} ({earlier.quantity} blangko). "
            "Periksa nomor kirimannya; penerimaan yang sama tidak dicatat dua kali."
        )
    _check_range_not_received(serial_from, serial_to)
    movement = _move(
        office=office,
        kind=BlankMovement.Kind.RECEIPT,
        quantity=count,
        at=at,
        acting_user=acting_user,
        label="system",
        batch=batch.strip(),
        serial_from=serial_from,
        serial_to=serial_to,
        received_on=received_on or timezone.localdate(at),
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


def serial_in_range(serial: str, first: str, last: str) -> bool:
    """Whether ``serial`` lies in the received range ``first``..``last``: as numbers when all
    are digits (a serial as long as a bound: "00501" is not "501"), otherwise as text of the
    bounds' length ("A0100" lies in "A0001".."A0500", "A100" does not)."""
    serial, first, last = serial.upper(), first.upper(), last.upper()
    if serial.isdigit() and first.isdigit() and last.isdigit():
        return len(serial) in (len(first), len(last)) and int(first) <= int(serial) <= int(last)
    return len(serial) == len(first) == len(last) and first <= serial <= last


def serial_ranges_overlap(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Whether two received ranges (inclusive) share a serial: as numbers when all four bounds
    are digits ("0001001".."0001100" and "1050".."1200" share 1050..1100), otherwise as text
    when all four are of one length, as :func:`serial_in_range` reads a serial (ranges of
    text serials of other lengths hold other serials)."""
    a1, a2, b1, b2 = (bound.upper() for bound in (first_a, last_a, first_b, last_b))
    if all(bound.isdigit() for bound in (a1, a2, b1, b2)):
        return int(a1) <= int(b2) and int(b1) <= int(a2)
    return len({len(a1), len(a2), len(b1), len(b2)}) == 1 and a1 <= b2 and b1 <= a2


def _province_receipts(office: Office) -> QuerySet[BlankMovement]:
    """Receipts with a serial range at any office of ``office``'s province: blanks move
    between these offices by transfers, which carry no range."""
    province = str(office.region_id).split(".")[0]
    return BlankMovement.objects.filter(
        Q(office__region__code=province) | Q(office__region__code__startswith=f"{province}."),
        kind=BlankMovement.Kind.RECEIPT,
    ).exclude(serial_from="")


# Ranges a refusal names; an office with more receipts gets "and N more".
RANGES_NAMED = 5


def _check_serial_received(office: Office, serial: str) -> None:
    """An office that records the serial ranges it receives prints on (or spoils) only blanks
    of a range recorded in its province (its own, or another office's whose blanks came by
    transfer): a typing error or a blank from elsewhere is refused. The range is optional on a
    receipt, so an office that never recorded one accepts any serial."""
    ranges = list(
        _province_receipts(office)
        .order_by("at", "id")
        .values_list("office_id", "serial_from", "serial_to")
    )
    own = [f"{a} s.d. {b}" for office_id, a, b in ranges if office_id == office.pk]
    if not own or any(serial_in_range(serial, a, b) for _, a, b in ranges):
        return
    named = ", ".join(own[:RANGES_NAMED])
    if len(own) > RANGES_NAMED:
        named += f" dan {len(own) - RANGES_NAMED} rentang lainnya"
    raise StockError(
        f"Nomor seri {serial} tidak termasuk rentang blangko yang tercatat diterima di "
        f"provinsi ini; periksa nomor seri pada blangko. Rentang yang diterima {office.name}: "
        f"{named}."
    )


def _check_serial(office: Office, serial: str) -> None:
    """A blank's serial, printed on or spoiled: of a range received (where the office records
    ranges), used only once."""
    _check_serial_unused(serial)
    _check_serial_received(office, serial)


def _used_serials(first: str, last: str) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The serials from ``first`` to ``last`` (digits, of their width) used already: those
    printed on, and those spoiled; each read by its index, within the range only."""
    within = {
        "card_serial__gte": first,
        "card_serial__lte": last,
        # Text order is number order only among digit strings of the same width.
        "card_serial__regex": rf"^[0-9]{{{len(first)}}}$",
    }
    printed = CardPrint.objects.filter(**within)
    spoiled = BlankMovement.objects.filter(kind=BlankMovement.Kind.SPOILED, **within)
    return (
        printed.order_by().values_list("card_serial", flat=True),
        spoiled.order_by().values_list("card_serial", flat=True),
    )


def _unused_in_range(first: str, last: str) -> str | None:
    """An unused serial of the range ``first``..``last``: the one after the highest used,
    else (the range's last blank is used) the lowest gap, found by halving the range and
    counting the used serials of a half (a serial is used once: a half with fewer used serials
    than numbers holds a gap); ``None`` when every serial is used."""
    width, low, high = len(first), int(first), int(last)

    def serial(n: int) -> str:
        return f"{n:0{width}d}"

    def used_count(a: int, b: int) -> int:
        printed, spoiled = _used_serials(serial(a), serial(b))
        return printed.union(spoiled).count()  # UNION: a serial counts once

    # The highest of each kind, one step back along its index each.
    tops = [q.order_by("-card_serial").first() for q in _used_serials(first, last)]
    highest = max((top for top in tops if top), default=None)
    after = int(highest) + 1 if highest else low
    if after <= high:
        return serial(after)
    if used_count(low, high) > high - low:
        return None
    # Bounded: the span halves on each step (about 20 steps for a million blanks).
    while low < high:
        middle = (low + high) // 2
        if used_count(low, middle) <= middle - low:
            high = middle
        else:
            low = middle + 1
    return serial(low)


def blank_serial_next(office: Office) -> str | None:
    """An unused serial of the numeric ranges the office received (then of its province's,
    whose blanks come by transfer), for work that prints unattended (the demo's counters);
    ``None`` when no range is recorded or every one is used up.

    Not the lowest unused one: in each range, the serial after the highest used (two indexed
    lookups per range: a counter printing through its blanks in order needs no more), and only
    when the range's last serial is used, its lowest gap (a few counting queries)."""
    receipts = _province_receipts(office).order_by("at", "id")
    own = list(receipts.filter(office=office).values_list("serial_from", "serial_to"))
    others = list(receipts.exclude(office=office).values_list("serial_from", "serial_to"))
    for first, last in own + others:
        if first.isdigit() and last.isdigit() and len(first) == len(last):
            found = _unused_in_range(first, last)
            if found is not None:
                return found
    return None


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
        _check_serial(office, serial)
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
    office = office_for_region(str(resident.regency_id))
    _check_serial(office, serial)
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


# The ledger's order, newest first: by the moment of each movement, the id breaking ties (the
# order lines of the same moment were written in).
LEDGER_ORDER = ("-at", "-id")


@dataclass(frozen=True)
class LedgerLine:
    movement: BlankMovement
    balance: int  # the stock after this line, in the ledger's order


def ledger_lines(office: Office, limit: int = 50) -> list[LedgerLine]:
    """The office's latest ``limit`` ledger lines, newest first, each with the stock after it
    in that order.

    ``balance_after`` is the stock when a line was written, so a movement recorded after the
    fact (a card printed at 09:00 and entered at 09:05, after a receipt at 09:03) reads out of
    step with its neighbours; counting back from today's stock keeps every line's balance that
    of the line below it plus its own quantity.
    """
    movements = (
        BlankMovement.objects.filter(office=office)
        .select_related("counterpart__region", "actor")
        .order_by(*LEDGER_ORDER)[:limit]
    )
    lines: list[LedgerLine] = []
    balance = stock_balance(office)
    for movement in movements:
        lines.append(LedgerLine(movement, balance))
        balance -= movement.quantity
    return lines


def blanks_used(region_codes: Iterable[str], today: date) -> dict[str, int]:
    """Blanks used (printed on or spoiled) by each office in the :data:`USE_WINDOW_DAYS` days
    ending ``today``, keyed by the office's region code; offices that used none are left out.

    The one definition of recent use: the stock page and the dashboard both read it.
    """
    since = datetime.combine(today - timedelta(days=USE_WINDOW_DAYS - 1), time())
    until = datetime.combine(today + timedelta(days=1), time())
    rows = (
        BlankMovement.objects.filter(
            office__region_id__in=list(region_codes),
            kind__in=USED_KINDS,
            at__gte=timezone.make_aware(since),
            at__lt=timezone.make_aware(until),
        )
        .values("office__region_id")
        .annotate(n=Sum("quantity"))
        .order_by()
        .values_list("office__region_id", "n")
    )
    return {str(code): -int(n) for code, n in rows if n}


def used_per_day(used: int) -> float:
    """Blanks used per day, from what :func:`blanks_used` counted."""
    return used / USE_WINDOW_DAYS


def days_of_stock(balance: int, used: int) -> float | None:
    """Days ``balance`` blanks last at the recent use (``used`` over the window): 0 without
    blanks, ``None`` when none were used lately."""
    if balance <= 0:
        return 0.0
    per_day = used_per_day(used)
    return balance / per_day if per_day else None


@dataclass(frozen=True)
class StockSummary:
    office: Office
    balance: int
    daily_use: float  # blanks used per day over the last USE_WINDOW_DAYS days
    days_left: float | None  # None: no recent use
    prr_backlog: int  # residents waiting at PRR in the office's region
    shortfall: int  # blanks missing to print the whole backlog


def _summary(office: Office, balance: int, used: int, backlog: int) -> StockSummary:
    return StockSummary(
        office=office,
        balance=balance,
        daily_use=used_per_day(used),
        days_left=days_of_stock(balance, used),
        prr_backlog=backlog,
        shortfall=max(backlog - balance, 0),
    )


def stock_summary(office: Office, today: date | None = None) -> StockSummary:
    today = today or timezone.localdate()
    used = blanks_used([office.region_id], today).get(office.region_id, 0)
    backlog = _residents_of(office).filter(ktp_state=KtpState.PRINT_READY_RECORD).count()
    return _summary(office, stock_balance(office), used, backlog)


def stock_summaries(offices: list[Office], today: date) -> list[StockSummary]:
    """:func:`stock_summary` of many regency/city offices in three grouped queries (balances,
    recent use, PRR backlog) instead of three per office."""
    balances = dict(
        BlankStock.objects.filter(office__in=offices).values_list("office_id", "balance")
    )
    used = blanks_used([o.region_id for o in offices], today)
    backlog = dict(
        Resident.objects.filter(
            regency_id__in=[o.region_id for o in offices],
            ktp_state=KtpState.PRINT_READY_RECORD,
        )
        .order_by()
        .values("regency_id")
        .annotate(n=Count("*"))
        .values_list("regency_id", "n")
    )
    return [
        _summary(
            office,
            balances.get(office.pk, 0),
            used.get(office.region_id, 0),
            backlog.get(office.region_id, 0),
        )
        for office in offices
    ]


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
