"""Every write of the queue: sessions, numbers from each channel, check-in, counters.

A seat is taken with a conditional ``UPDATE`` of the session row and a number with an
``UPDATE ... RETURNING`` of the point's counter row for the day, together with the ticket's
insert (on PostgreSQL in one statement, elsewhere in one transaction): the database keeps
capacity and numbering exact whatever the number of web processes (PostgreSQL serialises on the
row lock, SQLite on its single writer). Refusals are :class:`QueueRefused` with the reason in
Indonesian.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import secrets
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, F, IntegerField, ProtectedError, Value, When
from django.urls import reverse
from django.utils import dateformat, timezone, translation

from rekam.accounts.access import Action, can, in_scope, require
from rekam.audit.services import audit_record
from rekam.lib.nik import NikError, mask_nik, parse_nik
from rekam.notifications.services import Outgoing, message_send_many
from rekam.residents.models import Resident
from rekam.residents.services import MoveRefused, record_move, recording_refusal
from rekam.residents.states import RECORDABLE_STATES, KtpState
from rekam.servicepoints.models import SERVICE_PREFIX, MobileVisit, Service, ServicePoint
from rekam.suket.models import CardPrint
from rekam.suket.services import resident_has_valid_suket

from . import clock
from .calendar import DayPlan, Interval, day_plan, plans_many
from .models import (
    ACTIVE_STATES,
    Channel,
    DayCounter,
    Outcome,
    Priority,
    Session,
    State,
    Ticket,
    TicketEvent,
)

log = logging.getLogger(__name__)

# Until the access helper names queue actions of its own: the entrance officer's work needs
# what every staff role has (the queue officer holds only that), a counter's work what an
# operator holds.
GATE_ACTION = Action.VIEW_RESIDENT
COUNTER_ACTION = Action.RECORD_BIOMETRICS

# What the gate's QR reader recognises as an online (or printed) number.
TICKET_QR_PREFIX = "ANTREAN:"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed
CODE_LENGTH = 12
TYPED_TICKET_CODE = re.compile(f"[{_CODE_ALPHABET}]{{{CODE_LENGTH}}}")
# Where the yes of an online booking's WhatsApp box comes from (kept on its ticket and messages).
ONLINE_WHATSAPP_SOURCE = "antrean daring, untuk nomor ini"


class QueueRefused(Exception):
    """A request the queue refuses; ``message`` is for the person, in Indonesian."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _hm(value: datetime | time) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return value.strftime("%H.%M")


def local_datetime(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


# Sessions and capacity


def session_capacity(point: ServicePoint, minutes: int) -> tuple[int, int]:
    """Seats of a session ``minutes`` long, and how many of them are kept for invitations.

    Counters x the residents one counter serves in that time x the health-protocol share,
    never more than the waiting room holds.
    """
    normal = point.counters * minutes / point.service_minutes
    seats = min(math.floor(normal * point.protocol_percent / 100 + 1e-9), point.waiting_room_limit)
    seats = max(0, seats)
    return seats, seats * point.invitation_percent // 100


def _slices(point: ServicePoint, day: date, interval: Interval) -> list[tuple[datetime, datetime]]:
    start = local_datetime(day, interval.opens)
    end = local_datetime(day, interval.closes)
    step = timedelta(minutes=point.session_minutes)
    least = timedelta(minutes=point.service_minutes)
    out = []
    at = start
    while end - at >= least:  # a tail shorter than one service is no session
        out.append((at, min(at + step, end)))
        at += step
    return out


def _session_rows(
    point: ServicePoint, day: date, plan: DayPlan
) -> list[tuple[datetime, datetime, int, int, MobileVisit | None]]:
    rows = []
    for interval in plan.intervals:
        for start, end in _slices(point, day, interval):
            seats, kept = session_capacity(point, round((end - start).total_seconds() / 60))
            rows.append((start, end, seats, kept, interval.visit))
    return rows


def sessions_ensure(*, service_point: ServicePoint, day: date) -> list[Session]:
    """The sessions of ``day`` at the point, made from its calendar the first time they are
    needed (``[]`` when it is closed). Several processes may ask at once: one makes them."""
    found = list(Session.objects.filter(service_point=service_point, day=day).order_by("starts_at"))
    if found:
        return found
    plan = day_plan(service_point, day)
    if not plan.is_open:
        return []
    rows = _session_rows(service_point, day, plan)
    if not rows:
        return []
    try:
        with transaction.atomic():
            counter = DayCounter.objects.create(service_point=service_point, day=day)
            Session.objects.bulk_create(
                Session(
                    service_point=service_point,
                    day_counter=counter,
                    day=day,
                    starts_at=start,
                    ends_at=end,
                    capacity=seats,
                    invitation_capacity=kept,
                    visit=visit,
                )
                for start, end, seats, kept, visit in rows
            )
    except IntegrityError:
        pass  # made by another request meanwhile
    return list(Session.objects.filter(service_point=service_point, day=day).order_by("starts_at"))


def sessions_planned(*, service_point: ServicePoint, day: date) -> list[Session]:
    """The sessions the point's calendar would make for ``day`` now, unsaved: what a page
    shows of a day nobody has booked yet, without making it."""
    return [
        Session(
            service_point=service_point,
            day=day,
            starts_at=start,
            ends_at=end,
            capacity=seats,
            invitation_capacity=kept,
            visit=visit,
        )
        for start, end, seats, kept, visit in _session_rows(
            service_point, day, day_plan(service_point, day)
        )
    ]


def sessions_ensure_many(
    *, service_points: Iterable[ServicePoint], start: date, days: int
) -> dict[tuple[int, date], list[Session]]:
    """:func:`sessions_ensure` for many points and days at once (a planner's whole horizon):
    a handful of queries and one transaction instead of several per point and day. Keys are
    ``(point id, day)``; closed days are left out."""
    points = list(service_points)
    if not points or days <= 0:
        return {}
    end = start + timedelta(days=days - 1)
    ids = [p.pk for p in points]

    def existing() -> dict[tuple[int, date], list[Session]]:
        found: dict[tuple[int, date], list[Session]] = {}
        for session in Session.objects.filter(
            service_point_id__in=ids, day__gte=start, day__lte=end
        ).order_by("service_point_id", "starts_at"):
            found.setdefault((session.service_point_id, session.day), []).append(session)
        return found

    found = existing()
    by_id = {p.pk: p for p in points}
    wanted = [
        (by_id[pk], day, rows)
        for (pk, day), plan in plans_many(points, start, days).items()
        if (pk, day) not in found and plan.is_open
        if (rows := _session_rows(by_id[pk], day, plan))
    ]
    if not wanted:
        return found
    with transaction.atomic():
        # Another process may be making some of the same days: theirs stand, ours are skipped.
        DayCounter.objects.bulk_create(
            [DayCounter(service_point=point, day=day) for point, day, _ in wanted],
            ignore_conflicts=True,
        )
        counters = {
            (c.service_point_id, c.day): c.pk
            for c in DayCounter.objects.filter(
                service_point_id__in=ids, day__gte=start, day__lte=end
            )
        }
        Session.objects.bulk_create(
            [
                Session(
                    service_point=point,
                    day_counter_id=counters[(point.pk, day)],
                    day=day,
                    starts_at=starts,
                    ends_at=ends,
                    capacity=seats,
                    invitation_capacity=kept,
                    visit=visit,
                )
                for point, day, rows in wanted
                for starts, ends, seats, kept, visit in rows
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
    return existing()


def sessions_refresh(*, service_point: ServicePoint, from_day: date) -> int:
    """Forget the sessions of days from ``from_day`` on that hold no number or invitation yet,
    so they are made again from the point's current settings and calendar; the sessions of
    the other days stay, closed to newcomers when the calendar now closes their day (and open
    again when it reopens it). Numbers booked for a day closed now are given back and their
    holders told. Returns how many days were forgotten."""
    held = set(
        Ticket.objects.filter(service_point=service_point, day__gte=from_day)
        .values_list("day", flat=True)
        .distinct()
    )
    dropped = 0
    kept: set[date] = set(held)
    counters = DayCounter.objects.filter(service_point=service_point, day__gte=from_day)
    for counter in counters.exclude(day__in=held):
        try:
            with transaction.atomic():
                counter.delete()
            dropped += 1
        except ProtectedError:
            kept.add(counter.day)  # an invitation or a number holds that day: its sessions stay
    if kept:
        first, last = min(kept), max(kept)
        plans = plans_many([service_point], first, (last - first).days + 1)
        for day in sorted(kept):
            plan = plans[(service_point.pk, day)]
            changed = Session.objects.filter(
                service_point=service_point, day=day, closed=plan.is_open
            ).update(closed=not plan.is_open)
            if changed and not plan.is_open:
                _numbers_of_closed_day(service_point, day, plan.reason)
    return dropped


def _numbers_of_closed_day(point: ServicePoint, day: date, reason: str) -> None:
    """Numbers booked for a day the point has since closed are given back (their holders can
    take one for another day) and each holder is told, WhatsApp else SMS."""
    booked = list(
        Ticket.objects.filter(service_point=point, day=day, state=State.BOOKED)
        .exclude(channel=Channel.INVITATION)  # invitations are moved by their follow-up
        .select_related("resident", "service_point__office")
    )
    base = settings.ANTREAN_PUBLIC_URL.rstrip("/")
    outgoing = []
    for ticket in booked:
        ticket_cancel(ticket=ticket, reason=f"tempat layanan tutup: {reason}"[:200])
        if ticket.resident is None:
            continue
        data: dict[str, Any] = {
            "name": ticket.resident.name,
            "ticket": ticket.label,
            "place": point.name,
            "day": day,
            "reason": reason,
        }
        if base:
            data["booking_url"] = base + reverse("antrean_start")
        outgoing.append(
            Outgoing(
                recipient=ticket.resident,
                template="queue_day_closed",
                data=data,
                idempotency_key=f"antrean-tutup:{ticket.public_code}",
                channels=("whatsapp", "sms"),
                consent_source=ticket.whatsapp_consent_source,
            )
        )
    if outgoing:
        message_send_many(outgoing)


# Invitation seats nobody will use


def invitees_to_come(session_ids: list[int]) -> dict[int, int]:
    """Live invitations with no number yet, per session id (the Invitations app counts them;
    imported when asked, as that app builds on the queue)."""
    if not session_ids or not apps.is_installed("rekam.invitations"):
        return {}
    from rekam.invitations.services import invitations_to_come

    return invitations_to_come(session_ids)


def _share_opens(session: Session, now: datetime) -> bool:
    """Whether online numbers and walk-ins may take the invitation seats of ``session`` that no
    invitation will use: on its own day, once no plan may invite into it any more (plans stay
    ``INVITATIONS_LEAD_HOURS`` ahead, so the rest of the share would stay empty while people
    are sent away). A mobile unit's visit keeps its share: its invitees come to the visit's
    place, which a number does not name."""
    return (
        not session.closed
        and session.visit_id is None
        and session.ends_at > now
        and session.day == timezone.localdate(now)
        and session.starts_at <= now + timedelta(hours=settings.INVITATIONS_LEAD_HOURS)
    )


def share_unused(session: Session, to_come: int, now: datetime) -> int:
    """The invitation seats of ``session`` online numbers and walk-ins may take now: its share
    less the invitees numbered and the ``to_come`` still expected (none unless
    :func:`_share_opens`)."""
    if not _share_opens(session, now):
        return 0
    return max(0, session.invitation_capacity - session.invitation_taken - to_come)


def public_rooms(sessions: Sequence[Session], now: datetime) -> dict[int, int]:
    """What online numbers and walk-ins may still take in each session now (by id): its public
    room and its invitation seats no invitation will use (:func:`share_unused`). One query."""
    coming = invitees_to_come([s.pk for s in sessions if s.pk and _share_opens(s, now)])
    return {
        s.pk: s.public_room + share_unused(s, coming.get(s.pk, 0), now) for s in sessions if s.pk
    }


def _share_release(spec: _Issue, acting_user: Any) -> bool:
    """Hand one invitation seat of ``spec``'s session that no invitation will use to the public
    channels (the share shrinks by one), in the caller's transaction. The session row is locked
    first, so an invitee checking in meanwhile is counted before, or finds the seat taken and
    takes any seat left, as invitees do; the capacity itself is kept by the seat's statement."""

    def full_but_unused(session: Session, to_come: int) -> bool:
        return session.public_room <= 0 and share_unused(session, to_come, spec.at) > 0

    # Read first without the lock: a refusal for a session truly full waits for nobody.
    seen = Session.objects.filter(pk=spec.session_id).first()
    if seen is None or not full_but_unused(seen, 0):
        return False
    session = Session.objects.select_for_update().get(pk=spec.session_id)
    if not full_but_unused(session, invitees_to_come([session.pk]).get(session.pk, 0)):
        return False
    old = session.invitation_capacity
    released = Session.objects.filter(pk=session.pk, invitation_capacity=old).update(
        invitation_capacity=old - 1
    )
    if released:
        audit_record(
            acting_user=acting_user,
            action="session.invitation_seat_release",
            obj=session,
            changes={"invitation_capacity": [old, old - 1]},
            reason=f"kursi undangan yang tidak terpakai, untuk nomor {spec.channel}",
            actor_label="" if acting_user is not None else "antrean",
        )
    return bool(released)


# Taking a seat and a number

SERVICES = frozenset(Service.values)
_SEQ_COLUMN = {
    Service.RECORDING: "seq_recording",
    Service.PRINTING: "seq_printing",
    Service.SUKET: "seq_suket",
    Service.OTHER: "seq_other",
}


def _room_sql(alias: str, *, invitation: bool) -> str:
    """The condition for a free seat in session ``alias``: not closed, and (public channels)
    leaving the invitations' share free, however many invitations came."""
    if invitation:
        return (
            f"NOT {alias}.closed AND {alias}.public_taken + {alias}.invitation_taken "
            f"< {alias}.capacity"
        )
    return (
        f"NOT {alias}.closed AND {alias}.public_taken + CASE WHEN {alias}.invitation_taken > "
        f"{alias}.invitation_capacity THEN {alias}.invitation_taken "
        f"ELSE {alias}.invitation_capacity END < {alias}.capacity"
    )


def _seat_and_number(session: Session, service: str, *, invitation: bool) -> tuple[int, int] | None:
    """Take a seat in ``session`` and the next number of ``service``, in the caller's
    transaction: the seat's place in the session (1-based) and the number, or ``None``."""
    taken_column = "invitation_taken" if invitation else "public_taken"
    column = _SEQ_COLUMN[Service(service)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Session._meta.db_table} SET {taken_column} = {taken_column} + 1 "
            f"WHERE id = %s AND {_room_sql(Session._meta.db_table, invitation=invitation)} "
            "RETURNING public_taken + invitation_taken",
            [session.pk],
        )
        taken = cursor.fetchone()
        if taken is None:
            return None
        cursor.execute(
            f"UPDATE {DayCounter._meta.db_table} SET {column} = {column} + 1 WHERE id = %s "
            f"RETURNING {column}",
            [session.day_counter_id],
        )
        number = cursor.fetchone()
    if number is None:
        raise RuntimeError(f"day counter {session.day_counter_id} is gone")
    return int(taken[0]), int(number[0])


def _new_code() -> str:
    """Twelve characters of a 32-letter alphabet: 60 random bits from one system call."""
    bits = int.from_bytes(secrets.token_bytes(8))
    return "".join(_CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def _event(
    ticket: Ticket,
    kind: str,
    at: datetime,
    *,
    acting_user: Any = None,
    counter: int | None = None,
    detail: str = "",
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        service_point_id=ticket.service_point_id,
        kind=kind,
        at=at,
        counter=counter,
        actor=acting_user if getattr(acting_user, "pk", None) else None,
        detail=detail[:200],
    )


def _estimate(session: Session, point: ServicePoint, position: int) -> datetime:
    """When the ``position``-th person of a session (1-based) should be called."""
    rounds = (position - 1) // max(1, point.counters)
    return session.starts_at + timedelta(minutes=rounds * point.service_minutes)


@dataclass(frozen=True)
class _Issue:
    """One number to hand out: from which channel, to whom, in which session."""

    session_id: int
    service: str
    channel: str
    state: str
    at: datetime
    resident_id: int | None = None
    nik: str | None = None  # None: the resident's own
    priority: str = ""
    invitation_ref: str = ""
    issued_by_id: int | None = None
    estimated_floor: datetime | None = None  # no earlier than this (a walk-in's projection)
    last_day: date | None = None  # the session may be no later (the online booking horizon)
    # With ``last_day`` (online): refused while the resident holds an active online number of
    # the same service on this day or later (one upcoming number per service).
    first_day: date | None = None
    confirm_due: bool = False
    whatsapp_consent_source: str = ""

    @property
    def invitation(self) -> bool:
        return self.channel == Channel.INVITATION


_TICKET_COLUMNS = (
    "session_id, service_point_id, day, window_start, window_end, service, label, channel, "
    "state, priority, nik, resident_id, public_code, invitation_ref, estimated_at, issued_at, "
    "checked_in_at, calls, outcome, note, issued_by_id, confirm_due, whatsapp_consent_source"
)


@functools.cache
def _one_statement_sql(service: str, *, invitation: bool, horizon: bool, resident: bool) -> str:
    """The statement for one kind of booking (made once per process)."""
    resident_check = (
        f" AND EXISTS (SELECT 1 FROM {Resident._meta.db_table} WHERE id = %(resident)s)"
        if resident
        else ""
    )
    day_check = (
        " AND s.day <= %(last_day)s"
        f" AND NOT EXISTS (SELECT 1 FROM {Ticket._meta.db_table} AS held"
        " WHERE held.resident_id = %(resident)s AND held.service = %(service)s"
        " AND held.channel = %(channel)s AND held.day >= %(first_day)s"
        f" AND held.state IN ({', '.join(repr(str(s)) for s in ACTIVE_STATES)}))"
        if horizon
        else ""
    )
    taken = "invitation_taken" if invitation else "public_taken"
    column = _SEQ_COLUMN[Service(service)]
    return f"""
        WITH seat AS (
            UPDATE {Session._meta.db_table} AS s SET {taken} = s.{taken} + 1
            FROM {ServicePoint._meta.db_table} AS p
            WHERE s.id = %(session)s AND p.id = s.service_point_id AND s.ends_at > %(at)s
              AND p.is_active AND p.offers_{service}
              AND {_room_sql("s", invitation=invitation)}{day_check}{resident_check}
            RETURNING s.id, s.service_point_id, s.day, s.starts_at, s.ends_at, s.day_counter_id,
                      s.public_taken + s.invitation_taken AS position,
                      GREATEST(p.counters, 1) AS counters, p.service_minutes
        ), number AS (
            UPDATE {DayCounter._meta.db_table} SET {column} = {column} + 1
            WHERE id = (SELECT day_counter_id FROM seat)
            RETURNING {column} AS seq
        )
        INSERT INTO {Ticket._meta.db_table} ({_TICKET_COLUMNS})
        SELECT seat.id, seat.service_point_id, seat.day, seat.starts_at, seat.ends_at,
               %(service)s,
               %(prefix)s || CASE WHEN number.seq < 1000 THEN lpad(number.seq::text, 3, '0')
                                  ELSE number.seq::text END,
               %(channel)s, %(state)s, %(priority)s,
               COALESCE(%(nik)s, (SELECT nik FROM {Resident._meta.db_table}
                                  WHERE id = %(resident)s), ''),
               %(resident)s, %(code)s, %(ref)s,
               GREATEST(seat.starts_at + make_interval(
                   mins => ((seat.position - 1) / seat.counters) * seat.service_minutes
               ), %(floor)s),
               %(at)s, %(checked_in)s, 0, '', '', %(issued_by)s, %(confirm_due)s,
               %(whatsapp)s
        FROM seat, number
        RETURNING id, service_point_id, day, window_start, window_end, label, nik, estimated_at
    """


# The booking statement's parameters and their types, for PREPARE.
_PARAM_TYPES = {
    "session": "bigint",
    "at": "timestamptz",
    "last_day": "date",
    "first_day": "date",
    "resident": "bigint",
    "service": "text",
    "prefix": "text",
    "channel": "text",
    "state": "text",
    "priority": "text",
    "nik": "text",
    "code": "text",
    "ref": "text",
    "floor": "timestamptz",
    "checked_in": "timestamptz",
    "issued_by": "bigint",
    "confirm_due": "boolean",
    "whatsapp": "text",
}


@dataclass(frozen=True)
class _Prepared:
    name: str
    prepare: str  # PREPARE name (types) AS the statement
    params: tuple[str, ...]  # in the order EXECUTE takes them


@functools.cache
def _prepared_statement(
    service: str, *, invitation: bool, horizon: bool, resident: bool
) -> _Prepared:
    """The booking statement as a server-side prepared statement: PostgreSQL plans it once per
    connection instead of at every booking (planning took as long as running it)."""
    sql = _one_statement_sql(service, invitation=invitation, horizon=horizon, resident=resident)
    params = tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    for n, param in enumerate(params, 1):
        sql = sql.replace(f"%({param})s", f"${n}")
    # The text's digest in the name: a session kept by a pooler across a deploy may still hold
    # an older statement of the same kind, which must not be taken for this one.
    digest = hashlib.blake2b(sql.encode(), digest_size=4).hexdigest()
    name = f"antrean_issue_{service}_{int(invitation)}{int(horizon)}{int(resident)}_{digest}"
    types = ", ".join(_PARAM_TYPES[param] for param in params)
    return _Prepared(
        name=name,
        prepare=f"PREPARE {name} ({types}) AS {sql}",
        params=params,
    )


# Statements prepared on each open database connection (they live as long as its session).
_prepared_on: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _statement_gone(exc: DatabaseError) -> bool:
    """Whether the server no longer knows a prepared statement (its session was reset)."""
    return getattr(exc.__cause__, "sqlstate", None) == "26000"


def _execute_with(statement: _Prepared, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """The EXECUTE of ``statement`` with ``values``: those that read the same whatever the
    connection (NULL, true, false, '') written into it, the others as parameters (the driver
    quotes each parameter anew at every booking, and about half of them are these). Choices
    go as plain strings: the driver finds no adapter for their class and searches its bases
    at every use."""
    args: list[str] = []
    params: list[Any] = []
    for name in statement.params:
        value = values[name]
        if value is None:
            args.append("NULL")
        elif value is True or value is False:
            args.append(str(value).lower())
        elif isinstance(value, str) and not value:
            args.append("''")
        else:
            args.append("%s")
            params.append(str(value) if isinstance(value, str) else value)
    return f"EXECUTE {statement.name}({', '.join(args)})", params


_TICKET_FIELDS = [f.attname for f in Ticket._meta.concrete_fields]


def _issue_in_one_statement(db: BaseDatabaseWrapper, spec: _Issue, code: str) -> Ticket | None:
    """PostgreSQL: seat, number and ticket in one statement, so a booking in autocommit costs one
    round trip and holds the session's row lock only for that statement and its commit."""
    service = Service(spec.service)
    statement = _prepared_statement(
        service.value,
        invitation=spec.invitation,
        horizon=spec.last_day is not None,
        resident=spec.resident_id is not None and spec.nik is None,
    )
    checked_in = spec.at if spec.state == State.WAITING else None
    values: dict[str, Any] = {
        "session": spec.session_id,
        "at": spec.at,
        "last_day": spec.last_day,
        "first_day": spec.first_day,
        "resident": spec.resident_id,
        "service": service.value,
        "prefix": f"{SERVICE_PREFIX[service]}-",
        "channel": spec.channel,
        "state": spec.state,
        "priority": spec.priority,
        "nik": spec.nik,
        "code": code,
        "ref": spec.invitation_ref,
        "floor": spec.estimated_floor,
        "checked_in": checked_in,
        "issued_by": spec.issued_by_id,
        "confirm_due": spec.confirm_due,
        "whatsapp": spec.whatsapp_consent_source,
    }
    with db.cursor() as cursor:
        prepared = _prepared_on.setdefault(db.connection, set())
        if statement.name not in prepared:
            cursor.execute(statement.prepare)
            prepared.add(statement.name)
        try:
            cursor.execute(*_execute_with(statement, values))
        except DatabaseError as exc:
            if _statement_gone(exc):
                # Only this one is known to be gone: preparing the others again would fail
                # ("already exists") if they are still there.
                prepared.discard(statement.name)
            raise
        row = cursor.fetchone()
    if row is None:
        return None
    ticket_id, point_id, day, window_start, window_end, label, nik, estimated_at = row
    # Built from the row as a query result is (positional arguments: half the cost of names).
    fields = {
        "id": ticket_id,
        "session_id": spec.session_id,
        "service_point_id": point_id,
        "day": day,
        "window_start": window_start,
        "window_end": window_end,
        "service": service.value,
        "label": label,
        "channel": spec.channel,
        "state": spec.state,
        "priority": spec.priority,
        "nik": nik,
        "resident_id": spec.resident_id,
        "public_code": code,
        "invitation_ref": spec.invitation_ref,
        "estimated_at": estimated_at,
        "issued_at": spec.at,
        "checked_in_at": checked_in,
        "called_at": None,
        "closed_at": None,
        "counter": None,
        "calls": 0,
        "outcome": "",
        "note": "",
        "issued_by_id": spec.issued_by_id,
        "confirm_due": spec.confirm_due,
        "whatsapp_consent_source": spec.whatsapp_consent_source,
    }
    return Ticket.from_db(db.alias, _TICKET_FIELDS, [fields[f] for f in _TICKET_FIELDS])


def _issue_in_steps(spec: _Issue, code: str) -> Ticket | None:
    """Other databases (SQLite: one writer at a time anyway): the same in a few statements."""
    with transaction.atomic():
        session = Session.objects.select_related("service_point").filter(pk=spec.session_id).first()
        if session is None:
            return None
        point = session.service_point
        if (
            session.ends_at <= spec.at
            or not point.is_active
            or spec.service not in point.services
            or (spec.last_day is not None and session.day > spec.last_day)
            or (spec.first_day is not None and _held_online(spec) is not None)
        ):
            return None
        nik = spec.nik
        if nik is None:
            found = Resident.objects.filter(id=spec.resident_id or 0).values_list("nik", flat=True)
            nik = found.first()
            if nik is None:
                return None
        taken = _seat_and_number(session, spec.service, invitation=spec.invitation)
        if taken is None:
            return None
        position, seq = taken
        estimate = _estimate(session, point, position)
        return Ticket.objects.create(
            session=session,
            service_point=point,
            day=session.day,
            window_start=session.starts_at,
            window_end=session.ends_at,
            service=spec.service,
            label=f"{SERVICE_PREFIX[spec.service]}-{seq:03d}",
            channel=spec.channel,
            state=spec.state,
            priority=spec.priority,
            nik=nik,
            resident_id=spec.resident_id,
            public_code=code,
            invitation_ref=spec.invitation_ref,
            estimated_at=max(estimate, spec.estimated_floor) if spec.estimated_floor else estimate,
            issued_at=spec.at,
            checked_in_at=spec.at if spec.state == State.WAITING else None,
            issued_by_id=spec.issued_by_id,
            confirm_due=spec.confirm_due,
            whatsapp_consent_source=spec.whatsapp_consent_source,
        )


def _issue(spec: _Issue, acting_user: Any = None) -> Ticket | None:
    """Seat, number and ticket, all or nothing; ``None`` when the session cannot take it (full,
    past, not offering the service...). The ticket itself records its issue: no event row.

    A public number that finds no public seat takes an invitation seat no invitation will use
    (:func:`_share_release`, audited as ``acting_user``), in one transaction with its issue."""
    ticket = _issue_seat(spec)
    if ticket is not None or spec.invitation:
        return ticket
    with transaction.atomic():
        if not _share_release(spec, acting_user):
            return None
        ticket = _issue_seat(spec)
        if ticket is None:
            transaction.set_rollback(True)  # the seat stays the invitations'
        return ticket


def _issue_seat(spec: _Issue) -> Ticket | None:
    if spec.service not in SERVICES:
        return None
    code = _new_code()
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: the proxy costs a lookup per use
    if db.vendor != "postgresql":
        return _issue_in_steps(spec, code)
    try:
        return _issue_once(db, spec, code)
    except DatabaseError as exc:
        if not _statement_gone(exc):
            raise
    # The session lost the prepared statement (reset by a pooler, DEALLOCATE): prepare it again.
    return _issue_once(db, spec, code)


def _issue_once(db: BaseDatabaseWrapper, spec: _Issue, code: str) -> Ticket | None:
    if not db.in_atomic_block:
        return _issue_in_one_statement(db, spec, code)
    # A savepoint, so that a refusal by a constraint leaves the caller's transaction usable.
    with transaction.atomic(using=db.alias):
        return _issue_in_one_statement(db, spec, code)


def _why_not(spec: _Issue) -> QueueRefused:
    """Why ``_issue`` gave no ticket."""
    session = Session.objects.select_related("service_point").filter(pk=spec.session_id).first()
    if session is None:
        return QueueRefused("Sesi tidak ditemukan; pilih lagi.", code="unknown")
    point = session.service_point
    if not point.is_active or spec.service not in point.services:
        label = Service(spec.service).label if spec.service in Service.values else spec.service
        return QueueRefused(f"{point.name} tidak melayani {label}.", code="service")
    if session.ends_at <= spec.at:
        return QueueRefused("Sesi ini sudah lewat; pilih sesi lain.", code="past")
    if session.closed:
        return QueueRefused(
            f"{point.name} tutup pada {session.day:%d-%m-%Y}; pilih hari lain.", code="closed"
        )
    if spec.last_day is not None and session.day > spec.last_day:
        return QueueRefused(
            f"Nomor antrean daring dapat diambil paling lama {settings.ANTREAN_BOOKING_DAYS} hari "
            "sebelumnya.",
            code="too_far",
        )
    if spec.nik is None and not Resident.objects.filter(id=spec.resident_id or 0).exists():
        return QueueRefused("Data penduduk tidak ditemukan.", code="resident")
    also = ", juga untuk undangan" if spec.invitation else ""
    return QueueRefused(
        f"Sesi pukul {_hm(session.starts_at)} sudah penuh{also}; pilih sesi lain.", code="full"
    )


def _active_ticket(nik: str, day: date) -> Ticket | None:
    if not nik:
        return None
    return (
        Ticket.objects.filter(day=day, nik=nik, state__in=ACTIVE_STATES)
        .select_related("service_point__office")
        .first()
    )


def point_in_jurisdiction(user: Any, point: ServicePoint) -> bool:
    """Whether ``user`` may see what happens at ``point`` (its office's region)."""
    return can(user, Action.VIEW_REPORTS, point.office.region_id)


def active_ticket_of(raw_nik: str, day: date) -> Ticket | None:
    """The number a NIK, as typed at the gate, holds on ``day`` (none for a malformed NIK)."""
    try:
        return _active_ticket(parse_nik(raw_nik).nik, day)
    except NikError:
        return None


def _already_refusal(ticket: Ticket, viewer: Any = None) -> QueueRefused:
    """The refusal of a second number for ``ticket``'s NIK; to staff (``viewer``) outside the
    jurisdiction of its point, without its place, time or number."""
    if viewer is not None and not point_in_jurisdiction(viewer, ticket.service_point):
        return QueueRefused(
            "NIK ini sudah memiliki nomor antrean aktif hari ini di kantor lain. Satu NIK hanya "
            "boleh memegang satu nomor aktif per hari; nomor itu dapat dibatalkan pemegangnya "
            "atau kantor tersebut.",
            code="duplicate",
        )
    return QueueRefused(
        f"NIK ini sudah memiliki nomor antrean aktif {ticket.label} pada "
        f"{ticket.day:%d-%m-%Y} di {ticket.service_point.name}. Satu NIK hanya boleh "
        "memegang satu nomor aktif per hari; batalkan nomor itu dulu bila ingin mengganti.",
        code="duplicate",
    )


def _duplicate(spec: _Issue, viewer: Any = None) -> QueueRefused | None:
    """The refusal when ``spec``'s NIK already holds a number that day (to ``viewer``); to a
    resident booking online, with the day and place of the number and how to change it."""
    nik = spec.nik
    if nik is None and spec.resident_id is not None:
        nik = Resident.objects.filter(pk=spec.resident_id).values_list("nik", flat=True).first()
    day = Session.objects.filter(pk=spec.session_id).values_list("day", flat=True).first()
    existing = _active_ticket(nik or "", day) if day else None
    if existing is None:
        return None
    if spec.channel == Channel.ONLINE:
        return _held_refusal(existing, same_day=True)
    return _already_refusal(existing, viewer)


def when_text(ticket: Ticket) -> str:
    """A number's day and arrival window as a resident reads them, in Indonesian:
    "Kamis, 3 Desember 2020 pukul 09.00–10.00"."""
    with translation.override("id"):
        day = dateformat.format(ticket.day, "l, j F Y")
    return f"{day} pukul {_hm(ticket.window_start)}–{_hm(ticket.window_end)}"


def online_number_held(*, resident_id: int, service: str, from_day: date) -> Ticket | None:
    """The active online number of ``service`` the resident holds for ``from_day`` or later:
    one at most may be (the booking statement checks the same in SQL)."""
    return (
        Ticket.objects.filter(
            resident_id=resident_id,
            service=service,
            channel=Channel.ONLINE,
            state__in=ACTIVE_STATES,
            day__gte=from_day,
        )
        .select_related("service_point")
        .order_by("day")
        .first()
    )


def _held_online(spec: _Issue) -> Ticket | None:
    if spec.first_day is None or spec.resident_id is None:
        return None
    return online_number_held(
        resident_id=spec.resident_id, service=spec.service, from_day=spec.first_day
    )


def _held_refusal(held: Ticket, *, same_day: bool = False) -> QueueRefused:
    """Why a resident may not take another online number while holding ``held``, and how to
    change it: a booked online number moves to the session they pick; any other is given back
    first (cancelled on its page with its code, or by the officer at the gate)."""
    service = Service(held.service).label if held.service in Service.values else held.service
    rule = (
        "Satu NIK hanya boleh memegang satu nomor aktif per hari."
        if same_day
        else f"Satu penduduk hanya boleh memegang satu nomor antrean daring {service} yang "
        "belum dilayani."
    )
    if held.channel == Channel.ONLINE and held.state == State.BOOKED:
        how = (
            "Untuk mengganti hari, jam atau tempat: pilih sesi baru di halaman ini, lalu tekan "
            "“Pindahkan nomor saya ke sini”. Untuk melepasnya: batalkan nomor itu."
        )
    else:
        how = (
            "Untuk mengganti: batalkan dulu nomor itu (dengan kode 12 karakter di pesan "
            "konfirmasi, atau minta petugas di pintu masuk tempat layanannya)."
        )
    return QueueRefused(
        f"Anda sudah memiliki nomor antrean aktif {held.label} ({service}) pada "
        f"{when_text(held)} di {held.service_point.name}. {rule} {how}",
        code="duplicate" if same_day else "held",
    )


def _check_service(point: ServicePoint, service: str) -> None:
    if service not in Service.values:
        raise QueueRefused("Layanan tidak dikenal.", code="service")
    if service not in point.services:
        raise QueueRefused(f"{point.name} tidak melayani {Service(service).label}.", code="service")


def ticket_book_online(
    *,
    session_id: int,
    service: str,
    resident_id: int,
    at: datetime | None = None,
    base_url: str = "",
    whatsapp: bool = False,
    replaces: Ticket | None = None,
) -> Ticket:
    """A resident (who proved NIK and date of birth) books a number in a session with room.

    One statement on PostgreSQL. The WhatsApp confirmation goes to the outbox once the number is
    committed (``ANTREAN_CONFIRM_ON_COMMIT``), or from the ``antrean_confirm`` worker; either
    way the ticket stays marked until its message is in the outbox. ``whatsapp``: the booker
    asked for this number's messages on WhatsApp; the yes is kept on the ticket for them alone
    (a NIK and a birth date do not prove the resident, whose own consent stays as it was).

    A resident holds at most one upcoming online number per service: another is refused with
    the one they hold, unless it ``replaces`` that number (one of theirs, booked online, not yet
    checked in), which is then given back in the same transaction: the move happens whole or
    not at all.
    """
    now = at or clock.now()
    today = timezone.localdate(now)
    spec = _Issue(
        session_id=session_id,
        service=service,
        channel=Channel.ONLINE,
        state=State.BOOKED,
        at=now,
        resident_id=resident_id,
        last_day=today + timedelta(days=settings.ANTREAN_BOOKING_DAYS),
        first_day=today,
        confirm_due=True,
        whatsapp_consent_source=ONLINE_WHATSAPP_SOURCE if whatsapp else "",
    )
    if replaces is None:
        ticket = _book_online(spec)
    else:
        if (
            replaces.resident_id != resident_id
            or replaces.channel != Channel.ONLINE
            or replaces.state != State.BOOKED
        ):
            raise QueueRefused(
                f"Nomor {replaces.label} tidak dapat dipindahkan lagi: hanya nomor daring Anda "
                "yang belum masuk antrean di pintu masuk yang dapat dipindahkan.",
                code="not_movable",
            )
        with transaction.atomic():
            ticket_cancel(ticket=replaces, at=now, reason="dipindahkan pemegang nomor")
            ticket = _book_online(spec)  # a refusal rolls the cancellation back
    if settings.ANTREAN_CONFIRM_ON_COMMIT:
        transaction.on_commit(functools.partial(_confirm_quietly, ticket.pk, base_url))
    return ticket


def _book_online(spec: _Issue) -> Ticket:
    """The online number of ``spec``, or the refusal saying why not."""
    try:
        ticket = _issue(spec)
    except IntegrityError:
        refusal = _duplicate(spec)
        if refusal is not None:
            raise refusal from None
        raise
    if ticket is None:
        held = _held_online(spec)
        raise _held_refusal(held) if held is not None else _why_not(spec)
    return ticket


def _confirm_quietly(ticket_id: int, base_url: str) -> None:
    # The number is committed: a failure here only leaves the confirmation to the worker.
    try:
        ticket_confirm(ticket_id=ticket_id, base_url=base_url)
    except Exception:
        log.exception("confirmation of queue ticket %s left to the worker", ticket_id)


# What a confirmation reads of a ticket, its point and its resident (a batch reads only these).
_CONFIRMATION_FIELDS = (
    "label",
    "day",
    "estimated_at",
    "window_start",
    "window_end",
    "public_code",
    "service_point__name",
    "resident__name",
    "resident__phone",
    "resident__village",
    "resident__regency",
    "whatsapp_consent_source",
)


def _confirmation(ticket: Ticket, base_url: str) -> Outgoing | None:
    """The WhatsApp (else SMS) message confirming an online number, if it has a resident: the
    arrival window, the 12-character code that cancels or moves it, and its page's address
    (``ANTREAN_PUBLIC_URL``, else ``base_url``, the address the resident booked on)."""
    resident = ticket.resident
    if resident is None:
        return None
    data: dict[str, Any] = {
        "name": resident.name,
        "ticket": ticket.label,
        "place": ticket.service_point.name,
        "day": ticket.day,
        "window": f"{_hm(ticket.window_start)}–{_hm(ticket.window_end)}",
        "code": ticket.public_code,
        "estimated_at": ticket.estimated_at,
    }
    # The configured public address first: a request may have come in by an internal name.
    base = (settings.ANTREAN_PUBLIC_URL or base_url).rstrip("/")
    if base:
        data["status_url"] = base + reverse("antrean_status", args=[ticket.public_code])
    return Outgoing(
        recipient=resident,
        template="queue_ticket",
        data=data,
        idempotency_key=f"antrean:{ticket.public_code}",
        channels=("whatsapp", "sms"),
        consent_source=ticket.whatsapp_consent_source,
    )


def ticket_confirm(*, ticket_id: int, base_url: str = "") -> bool:
    """Put an online number's confirmation in the outbox (WhatsApp, else SMS), once: the ticket
    is claimed by a conditional UPDATE in the transaction that adds the message."""
    with transaction.atomic():
        if not Ticket.objects.filter(pk=ticket_id, confirm_due=True).update(confirm_due=False):
            return False
        ticket = Ticket.objects.select_related("service_point", "resident").get(pk=ticket_id)
        outgoing = _confirmation(ticket, base_url)
        if outgoing is not None:
            message_send_many([outgoing])
    return True


def tickets_confirm_due(*, limit: int = 100) -> int:
    """Confirm up to ``limit`` numbers still waiting for their message, in one transaction:
    the tickets claimed and read in one query, their messages put in the outbox in one insert,
    one commit. Several workers take disjoint batches. How many were confirmed."""
    with transaction.atomic():
        due = list(
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(confirm_due=True)
            .select_related("service_point", "resident")
            .only(*_CONFIRMATION_FIELDS)
            .order_by("id")[:limit]
        )
        if not due:
            return 0
        Ticket.objects.filter(pk__in=[t.pk for t in due]).update(confirm_due=False)
        outgoing: list[Outgoing] = []
        done = 0
        for ticket in due:
            try:
                confirmation = _confirmation(ticket, "")
            except Exception:  # bad data in one ticket must not hold back the others
                log.exception("could not confirm queue ticket %s", ticket.pk)
                continue
            if confirmation is not None:
                outgoing.append(confirmation)
            done += 1
        try:
            message_send_many(outgoing)
        except DatabaseError:
            raise  # the batch rolls back and stays due for the next pass
        except Exception:
            # A message the outbox refuses: the others one by one (a key already written
            # above stands for its message, so none goes in twice).
            for confirmation in outgoing:
                try:
                    message_send_many([confirmation])
                except DatabaseError:
                    raise
                except Exception:
                    log.exception("could not confirm %s", confirmation.idempotency_key)
                    done -= 1
    return done


@dataclass(frozen=True)
class WalkInPlan:
    session: Session
    estimated_at: datetime


def _walk_in_options(point: ServicePoint, now: datetime) -> tuple[list[WalkInPlan], datetime]:
    """Today's sessions a walk-in may still get, each with the projected call time, and the
    closing time; the projection counts who is ahead (booked or waiting, not yet called)."""
    today = timezone.localdate(now)
    sessions = sessions_ensure(service_point=point, day=today)
    # Sessions kept for numbers given before the day was closed take nobody new.
    if not sessions or all(s.closed for s in sessions):
        raise QueueRefused(f"{point.name} tidak buka hari ini.", code="closed")
    closing = max(s.ends_at for s in sessions)
    later = [s for s in sessions if s.ends_at > now]
    if not later:
        raise QueueRefused(
            f"Layanan hari ini sudah tutup pukul {_hm(closing)}. Silakan datang pada hari "
            "buka berikutnya atau ambil nomor antrean daring.",
            code="closed",
        )
    waiting_by_window: dict[datetime, int] = {}
    rows = (
        Ticket.objects.filter(
            service_point=point, day=today, state__in=(State.BOOKED, State.WAITING)
        )
        .values_list("window_start", flat=True)
        .order_by()
    )
    for window in rows:
        waiting_by_window[window] = waiting_by_window.get(window, 0) + 1
    per_minute = max(1, point.counters) / point.service_minutes
    plans = []
    for s in later:
        ahead = sum(n for w, n in waiting_by_window.items() if w <= s.starts_at)
        projected = max(s.starts_at, now + timedelta(minutes=ahead / per_minute))
        plans.append(WalkInPlan(s, projected))
    return plans, closing


def record_work_here(point: ServicePoint, regency_code: str) -> bool:
    """Whether ``point`` records, prints and issues Sukets for residents registered in
    ``regency_code``: only its own office's region does (the gate, the online page and the
    counter ask this one question)."""
    return in_scope(str(point.office.region_id), str(regency_code))


def elsewhere_refusal(service: str) -> str:
    """The reason a resident registered in another regency/city gets no ``service`` here; it
    says nothing of their record."""
    return (
        f"Pemilik NIK ini terdaftar di kabupaten/kota lain: layanan {Service(service).label} "
        "diberikan oleh Disdukcapil tempat ia terdaftar; di sini hanya layanan lain."
    )


def _walk_in_refusal(
    resident: Resident, service: str, point: ServicePoint, acting_user: Any, now: datetime
) -> QueueRefused | None:
    """Why ``resident``'s record does not allow a walk-in number for ``service``, naming the
    services it does allow, or ``None``: the online booking's own rules (``services_for_state``
    with the Suket rules' ``suket_offer``, so a print-ready resident is sent to printing while
    the office has blanks; :func:`recording_refusal`). The KTP-el state is named only to staff
    who may see the resident."""
    from .offers import services_for_state, suket_offer  # the Suket rules build on the queue

    if service == Service.OTHER:
        return None
    if not record_work_here(point, resident.regency_id):
        # Nothing of another regency's resident's record is read or told here.
        return QueueRefused(elsewhere_refusal(service), code="service_region")

    def allowed(with_suket: bool) -> set[str]:
        suket = with_suket and suket_offer(resident, now) is not None
        return services_for_state(resident.ktp_state, suket=suket)

    if service not in allowed(service == Service.SUKET):
        fitting = allowed(Service.SUKET in point.services)
        offered = [s for s in point.services if s in fitting and s != Service.OTHER]
        hint = f" Pilih {', '.join(str(Service(s).label) for s in offered)}." if offered else ""
        state = (
            f" ({KtpState(resident.ktp_state).label})"
            if can(acting_user, Action.VIEW_RESIDENT, resident.regency_id)
            else ""  # a gate officer of the point's office who may not see residents
        )
        return QueueRefused(
            f"Layanan {Service(service).label} tidak sesuai status KTP-el pemilik NIK ini"
            f"{state}.{hint}",
            code="service_state",
        )
    if service == Service.RECORDING:
        too_young = recording_refusal(resident, timezone.localdate(now))
        if too_young:
            return QueueRefused(too_young, code="too_young")
    return None


def ticket_issue_walkin(
    *,
    service_point: ServicePoint,
    service: str,
    acting_user: Any,
    nik: str = "",
    priority: str = "",
    at: datetime | None = None,
) -> Ticket:
    """The entrance officer's number for a walk-in.

    It goes to the session running now when it has room (the ticket is checked in: the person
    is here). Otherwise to the next session with room, and the ticket says when to come back
    (state ``booked`` until they scan it at the gate again). When the projected call passes
    closing time, no walk-in number is given for today. A registered resident's NIK is held
    to what their KTP-el record allows (:func:`_walk_in_refusal`). Invitation seats no
    invitation will use are open to walk-ins (:func:`public_rooms`).
    """
    require(acting_user, GATE_ACTION, service_point.office.region_id)
    now = at or clock.now()
    _check_service(service_point, service)
    if priority not in Priority.values:
        raise QueueRefused("Jenis prioritas tidak dikenal.", code="priority")
    resident_id = None
    if nik:
        try:
            nik = parse_nik(nik).nik
        except NikError as exc:
            raise QueueRefused(f"NIK tidak sah: {exc.message}.", code="nik") from None
        resident = Resident.objects.filter(nik=nik).first()
        existing = _active_ticket(nik, timezone.localdate(now))
        if existing is not None:
            raise _already_refusal(existing, acting_user)
        if resident is not None:
            refusal = _walk_in_refusal(resident, service, service_point, acting_user, now)
            if refusal is not None:
                raise refusal
            resident_id = resident.pk
    plans, closing = _walk_in_options(service_point, now)
    current = plans[0].session
    rooms = public_rooms([plan.session for plan in plans], now)
    for plan in plans:
        session = plan.session
        if plan.estimated_at >= closing:
            break
        if rooms.get(session.pk, 0) <= 0:
            continue
        spec = _Issue(
            session_id=session.pk,
            service=service,
            channel=Channel.GATE,
            state=State.WAITING if session.pk == current.pk else State.BOOKED,
            at=now,
            resident_id=resident_id,
            nik=nik,
            priority=priority,
            issued_by_id=acting_user.pk,
            estimated_floor=plan.estimated_at,
        )
        try:
            ticket = _issue(spec, acting_user)
        except IntegrityError:
            refusal = _duplicate(spec, acting_user)
            if refusal is not None:
                raise refusal from None
            raise
        if ticket is not None:
            return ticket
    raise QueueRefused(
        "Nomor antrean di tempat untuk hari ini dihentikan: perkiraan waktu dipanggil "
        f"melewati jam tutup ({_hm(closing)}). Silakan datang pada hari buka berikutnya "
        "atau ambil nomor antrean daring.",
        code="closing",
    )


def invitation_seat_book(
    *,
    session: Session,
    reference: str,
    service: str = Service.RECORDING,
    resident: Resident | None = None,
    acting_user: Any = None,
    at: datetime | None = None,
) -> Ticket:
    """A number for an invitation in its session, taken from the invitations' share (or a free
    public seat). ``reference`` names the invitation; booking it again returns the same number."""
    if not reference or len(reference) > 64:
        raise ValueError("reference must be 1 to 64 characters")
    existing = Ticket.objects.filter(invitation_ref=reference).first()
    if existing is not None:
        return existing
    point = session.service_point
    _check_service(point, service)
    if acting_user is not None:
        require(acting_user, GATE_ACTION, point.office.region_id)
    spec = _Issue(
        session_id=session.pk,
        service=service,
        channel=Channel.INVITATION,
        state=State.BOOKED,
        at=at or clock.now(),
        resident_id=resident.pk if resident else None,
        nik=resident.nik if resident else "",
        invitation_ref=reference,
        issued_by_id=getattr(acting_user, "pk", None),
    )
    try:
        ticket = _issue(spec)
    except IntegrityError:
        existing = Ticket.objects.filter(invitation_ref=reference).first()
        if existing is not None:
            return existing
        refusal = _duplicate(spec)
        if refusal is not None:
            raise refusal from None
        raise
    if ticket is None:
        raise _why_not(spec)
    return ticket


def _too_early(window_start: datetime, window_end: datetime, now: datetime) -> str:
    """The arrival window and when to come back, when ``now`` is before check-in opens
    (``ANTREAN_EARLY_MINUTES`` before the window), else ""."""
    earliest = window_start - timedelta(minutes=settings.ANTREAN_EARLY_MINUTES)
    if now >= earliest:
        return ""
    return (
        f"{_hm(window_start)}-{_hm(window_end)}. Silakan kembali pukul {_hm(earliest)} agar "
        "ruang tunggu tidak penuh."
    )


def ticket_check_in(
    *, ticket: Ticket, service_point: ServicePoint, acting_user: Any, at: datetime | None = None
) -> Ticket:
    """The person holding ``ticket`` is at the gate: they join the waiting line."""
    require(acting_user, GATE_ACTION, service_point.office.region_id)
    now = at or clock.now()
    if ticket.service_point_id != service_point.pk:
        raise QueueRefused(
            f"Nomor {ticket.label} untuk {ticket.service_point.name}, bukan tempat ini.",
            code="other_place",
        )
    today = timezone.localdate(now)
    if ticket.day != today:
        raise QueueRefused(
            f"Nomor {ticket.label} berlaku untuk tanggal {ticket.day:%d-%m-%Y}.", code="other_day"
        )
    if ticket.state != State.BOOKED:
        if ticket.state in (State.WAITING, State.CALLED):
            when = _hm(ticket.checked_in_at) if ticket.checked_in_at else ""
            raise QueueRefused(
                f"Nomor {ticket.label} sudah masuk antrean{' pukul ' + when if when else ''}.",
                code="already",
            )
        raise QueueRefused(
            f"Nomor {ticket.label} sudah tidak berlaku ({State(ticket.state).label}).",
            code="inactive",
        )
    early = _too_early(ticket.window_start, ticket.window_end, now)
    if early:
        raise QueueRefused(
            f"Terlalu awal: jadwal kedatangan nomor {ticket.label} pukul {early}", code="early"
        )
    with transaction.atomic():
        updated = Ticket.objects.filter(pk=ticket.pk, state=State.BOOKED).update(
            state=State.WAITING, checked_in_at=now
        )
        if not updated:
            raise QueueRefused(f"Nomor {ticket.label} baru saja diproses.", code="already")
        ticket.state, ticket.checked_in_at = State.WAITING, now
        _event(ticket, TicketEvent.Kind.CHECKED_IN, now, acting_user=acting_user)
    return ticket


def ticket_from_qr(text: str) -> Ticket | None:
    """The ticket an online-number (or printed ticket) QR text names, or its code typed from
    the number's page, if it is one."""
    text = text.strip().upper()
    if text.startswith(TICKET_QR_PREFIX):
        code = text[len(TICKET_QR_PREFIX) :].strip()
    elif TYPED_TICKET_CODE.fullmatch(text):
        code = text
    else:
        return None
    ticket = Ticket.objects.select_related("service_point").filter(public_code=code).first()
    if ticket is None:
        raise QueueRefused("Kode QR nomor antrean tidak dikenal.", code="unknown")
    return ticket


# Invitations: the Invitations issue's signed, single-use tokens arrive through this hook.


@dataclass(frozen=True)
class InvitationClaim:
    """What a verified invitation token says: who is invited, where, to which session."""

    reference: str  # the invitation's unique id: a second check-in with it is refused
    service_point_id: int
    starts_at: datetime  # the start of the invited session
    service: str = Service.RECORDING
    resident: Resident | None = None


# Verifies a token (signature, expiry) without side effects and returns its claim, or raises
# QueueRefused with the reason. Single use is kept here: an invitation checks in once.
InvitationResolver = Callable[[str], InvitationClaim]
_invitation_resolver: list[InvitationResolver] = []


def invitation_resolver_set(resolver: InvitationResolver | None) -> None:
    """Install the verifier of invitation tokens (the Invitations app does, when ready)."""
    _invitation_resolver[:] = [resolver] if resolver is not None else []


def invitation_resolver() -> InvitationResolver | None:
    """The installed verifier of invitation tokens, if any."""
    return _invitation_resolver[0] if _invitation_resolver else None


def checkin_invitation(
    token: str, *, service_point: ServicePoint, acting_user: Any, at: datetime | None = None
) -> Ticket:
    """Check in the holder of an invitation: its number in the invited session (booked when the
    invitation was planned, or now from the invitations' share) joins the waiting line."""
    require(acting_user, GATE_ACTION, service_point.office.region_id)
    if not _invitation_resolver:
        raise QueueRefused("Kode QR ini bukan nomor antrean.", code="unknown")
    claim = _invitation_resolver[0](token)
    if claim.service_point_id != service_point.pk:
        other = ServicePoint.objects.filter(pk=claim.service_point_id).first()
        raise QueueRefused(
            f"Undangan ini untuk {other.name if other else 'tempat layanan lain'}.",
            code="other_place",
        )
    ticket = Ticket.objects.filter(invitation_ref=claim.reference).first()
    invited_day = timezone.localdate(claim.starts_at)
    if ticket is None and invited_day != timezone.localdate(at or clock.now()):
        # Said before any seat is taken: a number for another day is no use at the gate today.
        raise QueueRefused(
            f"Undangan ini untuk tanggal {invited_day:%d-%m-%Y} pukul {_hm(claim.starts_at)}.",
            code="other_day",
        )
    if ticket is None:
        session = Session.objects.filter(
            service_point=service_point, starts_at=claim.starts_at
        ).first()
        if session is None:
            sessions_ensure(service_point=service_point, day=timezone.localdate(claim.starts_at))
            session = Session.objects.filter(
                service_point=service_point, starts_at=claim.starts_at
            ).first()
        if session is None:
            raise QueueRefused("Sesi undangan ini tidak ada di jadwal tempat layanan.")
        # Too early takes no seat: the invitee comes back and gets their number then.
        early = _too_early(session.starts_at, session.ends_at, at or clock.now())
        if early:
            raise QueueRefused(f"Terlalu awal: jadwal undangan ini pukul {early}", code="early")
        ticket = invitation_seat_book(
            session=session,
            reference=claim.reference,
            service=claim.service,
            resident=claim.resident,
            at=at,
        )
    return ticket_check_in(
        ticket=ticket, service_point=service_point, acting_user=acting_user, at=at
    )


def ticket_cancel(
    *, ticket: Ticket, acting_user: Any = None, at: datetime | None = None, reason: str = ""
) -> Ticket:
    """Give a number back before it is called; its seat is free again (its number is not
    handed out again)."""
    if acting_user is not None:
        require(acting_user, GATE_ACTION, ticket.service_point.office.region_id)
    now = at or clock.now()
    with transaction.atomic():
        updated = Ticket.objects.filter(
            pk=ticket.pk, state__in=(State.BOOKED, State.WAITING)
        ).update(state=State.CANCELLED, closed_at=now)
        if not updated:
            raise QueueRefused(
                f"Nomor {ticket.label} tidak dapat dibatalkan lagi.", code="not_cancellable"
            )
        seats = (
            {"invitation_taken": F("invitation_taken") - 1}
            if ticket.channel == Channel.INVITATION
            else {"public_taken": F("public_taken") - 1}
        )
        Session.objects.filter(pk=ticket.session_id).update(**seats)
        ticket.state, ticket.closed_at = State.CANCELLED, now
        _event(ticket, TicketEvent.Kind.CANCELLED, now, acting_user=acting_user, detail=reason)
    return ticket


# Counters


def call_order(now: datetime) -> list[Any]:
    """Who is called first among those waiting: people with priority (elderly, disability,
    pregnant), then those whose arrival window has begun, earliest window first, then by
    arrival at the gate."""
    return [
        Case(When(priority="", then=Value(1)), default=Value(0), output_field=IntegerField()),
        Case(
            When(window_start__lte=now, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "window_start",
        "checked_in_at",
        "id",
    ]


def waiting_line(
    service_point: ServicePoint, day: date, now: datetime, services: Sequence[str] = ()
) -> Any:
    qs = Ticket.objects.filter(service_point=service_point, day=day, state=State.WAITING)
    if services:
        qs = qs.filter(service__in=services)
    return qs.order_by(*call_order(now))


def current_at_counter(service_point: ServicePoint, day: date, counter: int) -> Ticket | None:
    return Ticket.objects.filter(
        service_point=service_point, day=day, counter=counter, state=State.CALLED
    ).first()


def _check_counter(point: ServicePoint, counter: int) -> None:
    if not 1 <= counter <= point.counters:
        raise QueueRefused(f"{point.name} hanya punya loket 1-{point.counters}.", code="counter")


def ticket_call_next(
    *,
    service_point: ServicePoint,
    counter: int,
    acting_user: Any,
    services: Sequence[str] = (),
    at: datetime | None = None,
) -> Ticket | None:
    """Call the next person in line to ``counter``; ``None`` when nobody is waiting. Two
    counters calling at once never get the same person."""
    require(acting_user, COUNTER_ACTION, service_point.office.region_id)
    _check_counter(service_point, counter)
    now = at or clock.now()
    today = timezone.localdate(now)
    busy = current_at_counter(service_point, today, counter)
    if busy is not None:
        raise QueueRefused(
            f"Loket {counter} masih melayani {busy.label}: selesaikan, alihkan, atau tandai "
            "tidak hadir dulu.",
            code="busy",
        )
    for _ in range(5):
        candidates = list(
            waiting_line(service_point, today, now, services).values_list("pk", flat=True)[:5]
        )
        if not candidates:
            return None
        for pk in candidates:
            try:
                with transaction.atomic():
                    taken = Ticket.objects.filter(pk=pk, state=State.WAITING).update(
                        state=State.CALLED, counter=counter, called_at=now, calls=F("calls") + 1
                    )
                    if not taken:
                        continue  # another counter called them first
                    ticket = Ticket.objects.get(pk=pk)
                    kind = TicketEvent.Kind.CALLED
                    _event(ticket, kind, now, acting_user=acting_user, counter=counter)
                    return ticket
            except IntegrityError:
                raise QueueRefused(
                    f"Loket {counter} baru saja memanggil nomor lain.", code="busy"
                ) from None
    return None


def _at_counter(ticket: Ticket, acting_user: Any) -> None:
    require(acting_user, COUNTER_ACTION, ticket.service_point.office.region_id)
    if ticket.state != State.CALLED:
        raise QueueRefused(
            f"Nomor {ticket.label} tidak sedang dipanggil ({State(ticket.state).label}).",
            code="not_called",
        )


def ticket_recall(*, ticket: Ticket, acting_user: Any, at: datetime | None = None) -> Ticket:
    """Call the same number again (the board announces it once more)."""
    _at_counter(ticket, acting_user)
    now = at or clock.now()
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(calls=F("calls") + 1)
        ticket.calls += 1
        _event(
            ticket, TicketEvent.Kind.RECALLED, now, acting_user=acting_user, counter=ticket.counter
        )
    return ticket


def _finish(
    ticket: Ticket,
    *,
    state: str,
    kind: str,
    acting_user: Any,
    at: datetime | None,
    outcome: str = "",
    note: str = "",
    detail: str = "",
) -> Ticket:
    now = at or clock.now()
    with transaction.atomic():
        updated = Ticket.objects.filter(pk=ticket.pk, state=State.CALLED).update(
            state=state, closed_at=now, outcome=outcome, note=note[:200]
        )
        if not updated:
            raise QueueRefused(f"Nomor {ticket.label} baru saja diproses.", code="not_called")
        _event(ticket, kind, now, acting_user=acting_user, counter=ticket.counter, detail=detail)
    ticket.state, ticket.closed_at, ticket.outcome, ticket.note = state, now, outcome, note
    return ticket


def ticket_no_show(*, ticket: Ticket, acting_user: Any, at: datetime | None = None) -> Ticket:
    """The person called did not come to the counter."""
    _at_counter(ticket, acting_user)
    return _finish(
        ticket, state=State.NO_SHOW, kind=TicketEvent.Kind.NO_SHOW, acting_user=acting_user, at=at
    )


@dataclass(frozen=True)
class Closed:
    ticket: Ticket
    # What became of the resident's KTP-el record, for the operator ("" when not asked).
    record: str = ""


def _record_at_counter(ticket: Ticket, acting_user: Any, at: datetime) -> str:
    """The office's recording move for the resident on a number closed as recorded (checked by
    :func:`_check_outcome`): not yet recorded, or enrolment failed, to biometrics captured.
    Returns what became of the record; a move the rules refuse refuses the close
    (:class:`QueueRefused`, with the reason)."""
    resident = ticket.resident
    assert resident is not None  # _check_outcome refused the close without one
    state = resident.ktp_state
    if state not in RECORDABLE_STATES:
        return f"Status KTP-el sudah {KtpState(state).label}: tidak diubah."
    try:
        record_move(
            resident=resident,
            to_state=KtpState.BIO_CAPTURED,
            acting_user=acting_user,
            reason=f"Direkam di {ticket.service_point.name}, loket {ticket.counter}, "
            f"nomor {ticket.label}",
            at=at,
        )
    except MoveRefused as exc:
        raise QueueRefused(exc.message, code="record") from exc
    return f"Status KTP-el: {KtpState(KtpState.BIO_CAPTURED).label}."


# The outcomes that claim work on a resident's record, and that work as refusals name it.
_OUTCOME_WORK = {
    Outcome.RECORDED: "mencatat perekamannya",
    Outcome.PRINTED: "mencetak kartunya",
    Outcome.SUKET: "menerbitkan Suket-nya",
}


def _outcome_resident(ticket: Ticket, outcome: str, acting_user: Any) -> Resident:
    """The registered resident a recorded, printed or Suket outcome is about, within the
    office's jurisdiction (the point's office, and the operator's own), or the refusal."""
    resident = ticket.resident
    work = _OUTCOME_WORK[Outcome(outcome)]
    if resident is None:
        if ticket.nik:
            raise QueueRefused(
                f"NIK {ticket.nik} tidak ditemukan di data penduduk: periksa NIK-nya (Perbaiki "
                f"NIK) sebelum {work}, atau tutup dengan hasil Lainnya dan tulis catatannya.",
                code="outcome_nik",
            )
        raise QueueRefused(
            f"Nomor {ticket.label} belum mencatat NIK penduduk: isi NIK-nya (Catat NIK) "
            f"sebelum {work}.",
            code="outcome_nik",
        )
    if not record_work_here(ticket.service_point, resident.regency_id) or not can(
        acting_user, Action.VIEW_RESIDENT, resident.regency_id
    ):
        raise QueueRefused(
            "Pemilik NIK ini terdaftar di kabupaten/kota lain: kantor ini tidak dapat "
            f"{work}. Tutup dengan hasil Lainnya dan tulis catatannya; "
            "layanannya diberikan oleh Disdukcapil tempat ia terdaftar.",
            code="outcome_region",
        )
    return resident


def _check_outcome(ticket: Ticket, outcome: str, acting_user: Any, at: datetime) -> None:
    """What a number closes with must have happened: recorded needs a registered resident of
    the office's jurisdiction (whose record then moves); a card printed needs the card on the
    print list, printed for this resident at this office on the day (a blank consumed); a
    Suket needs a Suket in force. Refused with what to do first."""
    if outcome not in _OUTCOME_WORK:
        return
    resident = _outcome_resident(ticket, outcome, acting_user)
    day = timezone.localdate(at)
    if outcome == Outcome.PRINTED:
        office = ticket.service_point.office
        start = local_datetime(day, time.min)
        printed = CardPrint.objects.filter(
            resident=resident,
            office=office,
            printed_at__gte=start,
            printed_at__lt=start + timedelta(days=1),
        )
        if not printed.exists():
            raise QueueRefused(
                f"Belum ada KTP-el {resident.name} yang tercatat dicetak hari ini di "
                f"{office.name}. Cetak lewat halaman Cetak atau Suket (nomor seri blangko "
                "dicatat, satu blangko dipakai), lalu tutup nomor ini.",
                code="outcome",
            )
    if outcome == Outcome.SUKET and not resident_has_valid_suket(resident, day):
        raise QueueRefused(
            f"Belum ada Suket yang berlaku untuk {resident.name}. Terbitkan lewat halaman "
            "Cetak atau Suket, lalu tutup nomor ini.",
            code="outcome",
        )


def ticket_close(
    *,
    ticket: Ticket,
    outcome: str,
    acting_user: Any,
    note: str = "",
    at: datetime | None = None,
) -> Closed:
    """The counter is done with this person: recorded, card printed, Suket, or other.

    Closing as recorded also moves the resident's record to biometrics captured, in the
    same transaction (:func:`_record_at_counter`); closing as printed or Suket needs the card
    or the Suket on record (:func:`_check_outcome`).
    """
    _at_counter(ticket, acting_user)
    if outcome not in Outcome.values:
        raise QueueRefused("Pilih hasil layanan.", code="outcome")
    now = at or clock.now()
    _check_outcome(ticket, outcome, acting_user, now)
    with transaction.atomic():
        record = _record_at_counter(ticket, acting_user, now) if outcome == Outcome.RECORDED else ""
        closed = _finish(
            ticket,
            state=State.DONE,
            kind=TicketEvent.Kind.CLOSED,
            acting_user=acting_user,
            at=now,
            outcome=outcome,
            note=note,
            detail=outcome,
        )
    return Closed(closed, record)


def ticket_transfer(
    *, ticket: Ticket, service: str, acting_user: Any, at: datetime | None = None
) -> Ticket:
    """Send the person to another service (e.g. from recording to printing): they wait again,
    keeping their number and their place by arrival window."""
    _at_counter(ticket, acting_user)
    _check_service(ticket.service_point, service)
    if service == ticket.service:
        raise QueueRefused("Pilih layanan lain untuk mengalihkan.", code="service")
    now = at or clock.now()
    old = ticket.service
    with transaction.atomic():
        updated = Ticket.objects.filter(pk=ticket.pk, state=State.CALLED).update(
            state=State.WAITING, service=service, counter=None
        )
        if not updated:
            raise QueueRefused(f"Nomor {ticket.label} baru saja diproses.", code="not_called")
        _event(
            ticket,
            TicketEvent.Kind.TRANSFERRED,
            now,
            acting_user=acting_user,
            counter=ticket.counter,
            detail=f"{old}>{service}",
        )
    ticket.state, ticket.service, ticket.counter = State.WAITING, service, None
    return ticket


def ticket_set_nik(*, ticket: Ticket, nik: str, acting_user: Any) -> Ticket:
    """Note the resident's NIK on a number taken without one (at the gate or the counter)."""
    require(acting_user, GATE_ACTION, ticket.service_point.office.region_id)
    try:
        nik = parse_nik(nik).nik
    except NikError as exc:
        raise QueueRefused(f"NIK tidak sah: {exc.message}.", code="nik") from None
    if ticket.nik == nik:
        return ticket
    if not ticket.is_active:
        raise QueueRefused(f"Nomor {ticket.label} sudah selesai.", code="inactive")
    resident = Resident.objects.filter(nik=nik).first()
    old = ticket.nik
    try:
        with transaction.atomic():
            Ticket.objects.filter(pk=ticket.pk).update(nik=nik, resident=resident)
            audit_record(
                acting_user=acting_user,
                action="ticket.set_nik",
                obj=ticket,
                changes={"nik": [mask_nik(old) if old else None, mask_nik(nik)]},
            )
    except IntegrityError:
        existing = _active_ticket(nik, ticket.day)
        if existing is not None:
            raise _already_refusal(existing, acting_user) from None
        raise
    ticket.nik, ticket.resident = nik, resident
    return ticket
