"""A morning of queue activity for the demo, through the same services the pages use.

At each regency/city office that has an operator account (the demo's logins), residents booked
online numbers the evening before and invitations were planned; from 07:45 walk-ins get numbers
at the gate, booked people check in (some never come), and every counter calls, serves and
closes until 11:00, when some are still at a counter and others wait: the board, the gate and
the counters open on a live morning. Mobile units get a week of dated visits.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rekam.accounts.models import Role, User
from rekam.elections.models import Election
from rekam.regions.models import Level, Region
from rekam.residents.eligibility import birth_date_limit
from rekam.residents.models import MaritalStatus, Resident
from rekam.residents.states import KtpState
from rekam.servicepoints.models import MobileVisit, Service, ServicePoint
from rekam.servicepoints.services import calendar_day_set, mobile_visit_add
from rekam.suket.services import resident_has_valid_suket, suket_issue
from rekam.suket.stock import StockError, blank_serial_next, card_print, office_for_region

from .models import Outcome, Priority, State, Ticket
from .services import (
    QueueRefused,
    current_at_counter,
    invitation_seat_book,
    sessions_ensure,
    ticket_book_online,
    ticket_call_next,
    ticket_check_in,
    ticket_close,
    ticket_issue_walkin,
    ticket_no_show,
    ticket_transfer,
)

# What a walk-in with a NIK comes for, by the state of their record.
WALK_IN_SERVICE: dict[str, str] = {
    KtpState.BELUM_REKAM: Service.RECORDING,
    KtpState.PRINT_READY_RECORD: Service.PRINTING,
    KtpState.SENT_FOR_ENROLLMENT: Service.SUKET,
    KtpState.RECEIVED_AT_CENTRAL: Service.SUKET,
}
MORNING_START = time(7, 45)
MORNING_END = time(11, 0)
# Before this the day has barely begun: the demo shows the day before's morning instead.
MORNING_SHOWN_FROM = time(8, 15)
VISIT_DAYS = 7


@dataclass(frozen=True)
class DemoQueueSummary:
    day: date
    points: int
    tickets: int
    served: int
    waiting: int
    visits: int


def _at(day: date, t: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, t))


def _operator(point: ServicePoint) -> User | None:
    return (
        User.objects.filter(office=point.office, role=Role.OPERATOR, is_active=True)
        .order_by("id")
        .first()
    )


def _visits(today: date, rng: random.Random) -> int:
    """A week of visits for every mobile unit, in villages of its regency (once)."""
    made = 0
    places = [
        (MobileVisit.Place.VILLAGE, "Balai Desa {v}"),
        (MobileVisit.Place.SCHOOL, "SMA Negeri 1 {d}"),
        (MobileVisit.Place.HOSPITAL, "RSUD {d}"),
        (MobileVisit.Place.HOME, "Kunjungan rumah lansia, {v}"),
    ]
    for point in ServicePoint.objects.filter(kind=ServicePoint.Kind.MOBILE, is_active=True):
        if MobileVisit.objects.filter(service_point=point, day__gte=today).exists():
            continue
        villages = list(
            Region.objects.filter(
                level=Level.VILLAGE, code__startswith=f"{point.office.region_id}."
            ).select_related("parent")
        )
        if not villages:
            continue
        for n in range(VISIT_DAYS):
            village = rng.choice(villages)
            kind, pattern = places[(n + point.pk) % len(places)]
            district = village.parent.name if village.parent else ""
            mobile_visit_add(
                service_point=point,
                day=today + timedelta(days=n),
                opens_at=time(9, 0),
                closes_at=time(13, 0) if kind == MobileVisit.Place.HOME else time(14, 0),
                place_kind=kind,
                place_name=pattern.format(v=village.name, d=district),
                village=village,
                address=f"{village.name}, Kecamatan {district}",
            )
            made += 1
    return made


def _residents(point: ServicePoint, states: list[str], count: int, today: date) -> list[Resident]:
    """Residents of the point's regency/city in ``states`` without a number that day; nobody
    who need not hold a KTP-el yet (under 17, never married) comes to record."""
    young = Q(birth_date__gt=birth_date_limit(today), marital_status=MaritalStatus.SINGLE)
    return list(
        Resident.objects.filter(regency_id=point.office.region_id, ktp_state__in=states)
        .exclude(young)
        .exclude(queue_tickets__day=today)
        .order_by("id")[:count]
    )


def _morning(
    point: ServicePoint, operator: User, today: date, rng: random.Random, until: datetime
) -> None:
    """``today``'s morning at ``point`` up to ``until`` (at most 11:00)."""
    sessions = sessions_ensure(service_point=point, day=today)
    if not sessions:
        calendar_day_set(
            service_point=point, day=today, is_open=True, reason="Buka untuk layanan demo"
        )
        sessions = sessions_ensure(service_point=point, day=today)
    morning = [s for s in sessions if s.starts_at < _at(today, MORNING_END)]
    evening_before = _at(today - timedelta(days=1), time(19, 30))

    # Booked ahead: online numbers and planned invitations for the morning's sessions.
    unrecorded = _residents(point, [KtpState.BELUM_REKAM], 60, today)
    ready = _residents(point, [KtpState.PRINT_READY_RECORD], 20, today)
    booked: list[Ticket] = []
    for session in morning:
        for _ in range(min(3, session.invitation_capacity)):
            if not unrecorded:
                break
            resident = unrecorded.pop()
            booked.append(
                invitation_seat_book(
                    session=session,
                    reference=f"demo:{point.code}:{resident.nik}",
                    resident=resident,
                    at=evening_before,
                )
            )
        for _ in range(3):
            pool = ready if ready and rng.random() < 0.35 else unrecorded
            if not pool:
                break
            resident = pool.pop()
            service = (
                Service.PRINTING
                if resident.ktp_state == KtpState.PRINT_READY_RECORD
                else (Service.RECORDING)
            )
            try:
                booked.append(
                    ticket_book_online(
                        session_id=session.pk,
                        service=service,
                        resident_id=resident.pk,
                        at=evening_before,
                    )
                )
            except QueueRefused:
                break
    arrivals: list[tuple[datetime, Ticket]] = []
    for ticket in booked:
        if rng.random() < 0.15:
            continue  # never comes: a no-show at the end of the window
        early = timedelta(minutes=rng.randint(0, 14))
        arrivals.append((ticket.window_start - early, ticket))
    arrivals.sort(key=lambda pair: pair[0])

    # The morning, minute by minute: arrivals, walk-ins, counters.
    taken = {r.pk for r in unrecorded} | {r.pk for r in ready}
    walkers = [r for r in _residents(point, list(WALK_IN_SERVICE), 120, today) if r.pk not in taken]
    rng.shuffle(walkers)
    walk_in_services = ["recording"] * 5 + ["printing"] * 3 + ["suket", "other"]
    busy_until: dict[int, datetime] = {}
    clock = _at(today, MORNING_START)
    end = min(_at(today, MORNING_END), until)
    while clock < end:
        while arrivals and arrivals[0][0] <= clock:
            _, ticket = arrivals.pop(0)
            with contextlib.suppress(QueueRefused):  # e.g. cancelled meanwhile
                ticket_check_in(ticket=ticket, service_point=point, acting_user=operator, at=clock)
        if rng.random() < 0.25:
            priority = rng.choice([Priority.ELDERLY, Priority.DISABILITY, Priority.PREGNANT])
            wanted, nik = rng.choice(walk_in_services), ""
            if walkers and rng.random() < 0.6:  # most give their NIK at the gate
                walker = walkers.pop()
                nik, wanted = walker.nik, WALK_IN_SERVICE.get(walker.ktp_state, "suket")
            with contextlib.suppress(QueueRefused):  # full until closing: the gate says so
                walk_in = ticket_issue_walkin(
                    service_point=point,
                    service=wanted,
                    nik=nik,
                    priority=priority if rng.random() < 0.12 else "",
                    acting_user=operator,
                    at=clock,
                )
                if walk_in.state == State.BOOKED and rng.random() < 0.9:
                    # Told to come back: most do, a little before their window.
                    back = walk_in.window_start - timedelta(minutes=rng.randint(0, 10))
                    arrivals.append((back, walk_in))
                    arrivals.sort(key=lambda pair: pair[0])
        if clock >= _at(today, time(8, 0)):
            for counter in range(1, point.counters + 1):
                _counter_minute(point, operator, counter, clock, busy_until, rng)
        clock += timedelta(minutes=1)
    # The moment the demo opens on: a few just arrived, and every free counter calls someone.
    for service in (Service.RECORDING, Service.PRINTING, Service.RECORDING):
        with contextlib.suppress(QueueRefused):
            ticket_issue_walkin(service_point=point, service=service, acting_user=operator, at=end)
    for counter in range(1, point.counters + 1):
        if current_at_counter(point, today, counter) is None:
            ticket_call_next(service_point=point, counter=counter, acting_user=operator, at=end)


def _counter_minute(
    point: ServicePoint,
    operator: User,
    counter: int,
    clock: datetime,
    busy_until: dict[int, datetime],
    rng: random.Random,
) -> None:
    current = current_at_counter(point, timezone.localdate(clock), counter)
    if current is not None:
        if clock < busy_until.get(counter, clock):
            return
        if rng.random() < 0.05:
            ticket_no_show(ticket=current, acting_user=operator, at=clock)
        elif current.service == Service.RECORDING and rng.random() < 0.1:
            ticket_transfer(ticket=current, service=Service.SUKET, acting_user=operator, at=clock)
        else:
            wanted = {
                Service.RECORDING: Outcome.RECORDED,
                Service.PRINTING: Outcome.PRINTED,
                Service.SUKET: Outcome.SUKET,
            }.get(Service(current.service), Outcome.OTHER)
            outcome = _served(current, wanted, operator, clock)
            ticket_close(ticket=current, outcome=outcome, acting_user=operator, at=clock)
        return
    called = ticket_call_next(service_point=point, counter=counter, acting_user=operator, at=clock)
    if called is not None:
        minutes = max(3.0, rng.gauss(point.service_minutes, 3))
        busy_until[counter] = clock + timedelta(minutes=minutes)


def _served(ticket: Ticket, outcome: str, operator: User, at: datetime) -> str:
    """What the counter did, done through the services a counter uses: the card printed on a
    blank from the print list, the Suket issued where the rules allow. A number closes with
    what is on record (the close checks it), or as other service: a number with no registered
    resident's NIK has nobody's record to note."""
    resident = ticket.resident
    if resident is None:
        return Outcome.OTHER
    if outcome not in (Outcome.PRINTED, Outcome.SUKET):
        return outcome
    if outcome == Outcome.PRINTED:
        if resident.ktp_state == KtpState.PRINT_READY_RECORD:
            with contextlib.suppress(StockError):  # no blank or no printer: nothing printed
                # A blank of the office's received range, as the office checks serials.
                office = office_for_region(str(resident.regency_id))
                card_print(
                    resident=resident,
                    card_serial=blank_serial_next(office)
                    or f"{ticket.service_point.code}-{ticket.day:%y%m%d}-{ticket.label}",
                    acting_user=operator,
                    at=at,
                )
            resident.refresh_from_db(fields=["ktp_state"])
        return outcome if resident.ktp_state == KtpState.CARD_PRINTED else Outcome.OTHER
    day = timezone.localdate(at)
    if not resident_has_valid_suket(resident, day):
        election = (
            Election.objects.filter(regions=resident.regency_id, suket_issue_until__gte=day)
            .order_by("polling_day")
            .first()
        )
        if election is not None:
            suket_issue(resident=resident, election=election, acting_user=operator, at=at)
    return outcome if resident_has_valid_suket(resident, day) else Outcome.OTHER


def demo_day(now: datetime) -> tuple[date, datetime]:
    """The day whose morning the demo shows, and until when: this morning up to ``now`` (at
    most 11:00), or the day before's whole morning when the offices have barely opened (no
    event after ``now``: figures would show negative waits)."""
    today = timezone.localdate(now)
    if now >= _at(today, MORNING_SHOWN_FROM):
        return today, now
    before = today - timedelta(days=1)
    return before, _at(before, MORNING_END)


@transaction.atomic
def antrean_demo_seed(*, today: date, seed: int, now: datetime | None = None) -> DemoQueueSummary:
    """Set up the queue side of the demo once for ``today`` (a second call changes nothing):
    mobile-unit visits from ``today``, and a morning of activity at each office on the day
    :func:`demo_day` picks for ``now`` (default: ``today`` at 11:00)."""
    day, until = demo_day(now or _at(today, MORNING_END))
    rng = random.Random(seed)
    visits = _visits(today, rng)
    points = []
    for point in ServicePoint.objects.filter(
        kind=ServicePoint.Kind.OFFICE, is_active=True
    ).select_related("office"):
        operator = _operator(point)
        if operator is not None:
            points.append((point, operator))
    for point, operator in points:
        if Ticket.objects.filter(service_point=point, day=day).exists():
            continue
        _morning(point, operator, day, random.Random(f"{seed}:{point.code}"), until)
    tickets = Ticket.objects.filter(service_point__in=[p for p, _ in points], day=day)
    return DemoQueueSummary(
        day=day,
        points=len(points),
        tickets=tickets.count(),
        served=tickets.filter(state=State.DONE).count(),
        waiting=tickets.filter(state=State.WAITING).count(),
        visits=visits,
    )
