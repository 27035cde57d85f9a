"""One invitation's life after planning: its tokens, the gate check-in, rescheduling, the
calendar file, its message, and the follow-up of those who did not come.

Attendance comes from the queue: an invitation attended when the ticket booked under its
reference was checked in. A no-show is re-invited once into a free session before the deadline;
a voter who misses again (or for whom no session is left) goes on the home-visit list for a
mobile unit. Every invitation made after sending (a reschedule, a re-invitation) gets its own
message through :func:`invitations_send`, like the plan's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.antrean import clock
from rekam.antrean.models import INSIDE_STATES, Session, State, Ticket
from rekam.antrean.services import InvitationClaim, QueueRefused, sessions_ensure_many
from rekam.audit.services import audit_record, audit_record_many
from rekam.elections.models import Election
from rekam.lib.geo import haversine_km
from rekam.lib.pdf import date_id
from rekam.notifications.services import Outgoing, message_send_many
from rekam.residents.models import Resident
from rekam.servicepoints.models import ServicePoint
from rekam.voters.models import Voter, VoterCheck

from . import tokens
from .models import Invitation, PlanRun
from .services import (
    DONE_STATES,
    LIVE,
    deadline_of,
    earliest_session_start,
    invitations_to_come,
    plan_jurisdiction,
)

_OFFERS: dict[str, str] = {
    Invitation.Service.RECORDING: "offers_recording",
    Invitation.Service.PRINTING: "offers_printing",
}
# The message family of each service's invitation.
FAMILIES: dict[str, str] = {
    Invitation.Service.RECORDING: "invitation",
    Invitation.Service.PRINTING: "card_pickup",
}
# An invitation's outbox message is keyed by its reference (the dashboard's flags read it).
MESSAGE_KEY = "invitation:"
# Candidate sessions read at a time while looking for free ones.
_SESSION_PAGE = 200
# Due invitations settled per transaction by the follow-up.
_FOLLOW_UP_CHUNK = 200
# Free sessions a re-invitation tries, in case one fills up meanwhile.
_REINVITE_TRIES = 3
# The follow-up's steps in order, with what its progress says of each. ``on_progress(step,
# done, total)`` hears of each step as it starts and after each chunk of invitations.
FOLLOW_UP_STEPS: dict[str, str] = {
    "settle": "Menyelesaikan undangan yang sesinya sudah lewat",
    "ahead": "Membatalkan undangan yang tidak diperlukan lagi",
    "closed": "Memindahkan undangan dari hari tempat layanan tutup",
    "release": "Membuka kursi undangan sesi yang sedang berjalan",
}
FollowUpProgress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    """No progress reported (the command's default)."""


def invitation_place(invitation: Invitation) -> tuple[str, str]:
    """Where the invitee goes, name and address: a mobile unit's visit (a village hall) when
    the session is one, else the service point."""
    return session_place(invitation.session, invitation.service_point)


def session_place(session: Session, point: ServicePoint) -> tuple[str, str]:
    """A session's place, name and address: its mobile visit's village hall, else its point."""
    visit = session.visit if session.visit_id else None
    if visit is not None:
        return visit.place_name, visit.address or visit.place_name
    return point.name, point.address or point.name


def checkin_token(invitation: Invitation) -> str:
    """The QR text that checks the invitee in (valid until a while after the session)."""
    expires = invitation.ends_at + tokens.CHECKIN_GRACE
    return tokens.QR_PREFIX + tokens.make(invitation.reference, tokens.CHECKIN, expires)


def reschedule_token(invitation: Invitation) -> str:
    """The reschedule link's token: valid until the invited session starts."""
    return tokens.make(invitation.reference, tokens.RESCHEDULE, invitation.starts_at)


def calendar_token(invitation: Invitation) -> str:
    """The calendar file's token: valid until the invited session ends."""
    return tokens.make(invitation.reference, tokens.CALENDAR, invitation.ends_at)


def public_links(invitation: Invitation, base_url: str) -> dict[str, str]:
    """The invitation's reschedule page and calendar file under the public address
    ``base_url`` ("https://rekam.example.go.id"); none without an address."""
    base = base_url.rstrip("/")
    if not base:
        return {}
    return {
        "reschedule_url": base
        + reverse("invitations_reschedule", args=[reschedule_token(invitation)]),
        "calendar_url": base + reverse("invitations_calendar", args=[calendar_token(invitation)]),
    }


def invitation_for_token(text: str, purpose: str, *, now: datetime | None = None) -> Invitation:
    """The invitation a signed token names (signature and expiry checked), with what its
    pages show; :class:`tokens.TokenRefused` otherwise."""
    read = tokens.read(text, purpose, now=now or clock.now())
    invitation = (
        Invitation.objects.filter(reference=read.reference)
        .select_related("election", "service_point", "session__visit", "voter", "village")
        .first()
    )
    if invitation is None:
        raise tokens.TokenRefused("Kode undangan tidak sah.")
    return invitation


DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
# What an invitee brings (letters and calendar files are in Indonesian; pages translate it).
WHAT_TO_BRING: dict[str, Any] = {
    Invitation.Service.RECORDING: _("A copy of the family card (KK)"),
    Invitation.Service.PRINTING: _("A copy of the family card (KK) and the Suket, if any"),
}
# Bounds the walks along rescheduled invitations (a handful at most in practice).
_MAX_MOVES = 50


def when_id(start: datetime, end: datetime) -> tuple[str, str]:
    """``("Rabu, 9 Desember 2020", "08.00 - 09.00 WIB")`` in local time."""
    s, e = timezone.localtime(start), timezone.localtime(end)
    return f"{DAYS_ID[s.weekday()]}, {date_id(s.date())}", f"{s:%H.%M} - {e:%H.%M} WIB"


def _latest(invitation: Invitation) -> Invitation | None:
    """The invitation that stands now in place of ``invitation`` (following reschedules and
    re-invitations), if one is still planned."""
    node = invitation
    for _step in range(_MAX_MOVES):
        following = (
            Invitation.objects.filter(replaces=node)
            .select_related("service_point", "session__visit")
            .first()
        )
        if following is None:
            break
        node = following
    return node if node is not invitation and node.state == Invitation.State.PLANNED else None


def check_reschedulable(invitation: Invitation) -> None:
    """Refuse (in Indonesian) to move an invitation that no longer stands as planned, naming
    the one that stands now in its place, if any."""
    if invitation.state == Invitation.State.PLANNED:
        return
    if invitation.state == Invitation.State.RESCHEDULED and invitation.session.closed:
        why = "Tempat layanan tutup pada hari itu; undangan Anda dipindahkan"
    elif invitation.state == Invitation.State.RESCHEDULED:
        why = "Tautan ganti jadwal ini sudah digunakan"
    else:
        why = "Undangan ini sudah diganti"
    latest = _latest(invitation)
    if latest is not None:
        day, hours = when_id(latest.starts_at, latest.ends_at)
        raise tokens.TokenRefused(
            f"{why}: jadwal baru Anda {day}, {hours}, di {invitation_place(latest)[0]}. "
            "Gunakan pesan atau surat undangan yang terbaru."
        )
    if invitation.state == Invitation.State.RESCHEDULED:
        raise tokens.TokenRefused(f"{why}.")
    if invitation.state == Invitation.State.ATTENDED:
        raise tokens.TokenRefused("Undangan ini sudah digunakan: Anda sudah datang.")
    raise tokens.TokenRefused("Undangan ini sudah tidak berlaku.")


# The code printed on letters and in SMS and e-mail invitations (the reference's random tail),
# typed at the gate when there is no QR to scan.
TYPED_CODE = re.compile(r"[0-9A-Fa-f]{8}")
# A whole reference, as letters printed before the short code carried it.
TYPED_REFERENCE = re.compile(r"[0-9A-Fa-f]{24}")


def typed_code(invitation: Invitation) -> str:
    """The invitation's code for people to read and type (its reference's random tail: the
    head is the plan's run and a count)."""
    return invitation.reference[-8:].upper()


def _typed(code: str) -> Invitation:
    found = list(Invitation.objects.filter(reference__endswith=code.lower(), state__in=LIVE)[:2])
    if not found:
        raise QueueRefused(
            f"Kode undangan {code.upper()} tidak dikenal atau undangannya sudah tidak berlaku.",
            code="inactive",
        )
    if len(found) > 1:
        raise QueueRefused(
            f"Kode {code.upper()} cocok dengan lebih dari satu undangan: pindai QR undangannya.",
            code="ambiguous",
        )
    return found[0]


def resolve_checkin(text: str) -> InvitationClaim:
    """The queue's resolver: who a check-in token (or a code typed from a letter or message)
    invites, where and when (no side effects)."""
    typed = text.strip()
    invitation: Invitation | None
    if TYPED_CODE.fullmatch(typed):
        invitation = _typed(typed)
    elif TYPED_REFERENCE.fullmatch(typed):
        invitation = Invitation.objects.filter(reference=typed.lower()).first()
    else:
        try:
            token = tokens.read(text, tokens.CHECKIN, now=clock.now())
        except tokens.TokenRefused as exc:
            raise QueueRefused(str(exc), code="invalid") from None
        invitation = Invitation.objects.filter(reference=token.reference).first()
    if invitation is None or invitation.state not in LIVE:
        raise QueueRefused("Undangan ini sudah tidak berlaku.", code="inactive")
    # The registry's person behind the voter (by NIK or a confirmed match): the counter then
    # shows them and records their biometrics.
    verdict = VoterCheck.objects.filter(voter_id=invitation.voter_id).only("resident_id").first()
    resident = (
        Resident.objects.filter(pk=verdict.resident_id).first()
        if verdict is not None and verdict.resident_id
        else None
    )
    return InvitationClaim(
        reference=invitation.reference,
        service_point_id=invitation.service_point_id,
        starts_at=invitation.starts_at,
        service=invitation.service,
        resident=resident,
    )


def _room(sessions: list[Session]) -> dict[int, int]:
    """Invitation seats still free in each session (none in a closed one): its share less the
    numbers invitees took at the gate and the invitees still to come (each counted once)."""
    coming = invitations_to_come([s.pk for s in sessions])
    return {
        s.pk: 0
        if s.closed
        else max(0, s.invitation_capacity - s.invitation_taken - coming.get(s.pk, 0))
        for s in sessions
    }


def eligible_points(service: str, regency: str) -> list[int]:
    """Active points of ``regency`` offering ``service``."""
    points = ServicePoint.objects.filter(is_active=True, **{_OFFERS[service]: True}).select_related(
        "office"
    )
    return [p.pk for p in points if p.regency_code == regency]


def _points_with_sessions(invitation: Invitation, now: datetime) -> list[int]:
    """The points that may take ``invitation`` (:func:`eligible_points`), their sessions made
    from their calendars up to polling day where missing (a calendar change drops the days
    nobody holds yet)."""
    ids = eligible_points(invitation.service, str(invitation.village_id)[:5])
    first = timezone.localdate(now)
    days = (invitation.election.polling_day - first).days + 1
    if ids and days > 0:
        sessions_ensure_many(
            service_points=ServicePoint.objects.filter(pk__in=ids).select_related("office"),
            start=first,
            days=days,
        )
    return ids


def _free_at(
    invitation: Invitation, point_ids: list[int], now: datetime, limit: int
) -> list[Session]:
    """The earliest ``limit`` sessions of ``point_ids`` with a free invitation seat, after
    ``now`` and ending by the deadline (read a page at a time: early ones are often full)."""
    if not point_ids or limit <= 0:
        return []
    candidates = (
        Session.objects.filter(
            service_point_id__in=point_ids,
            starts_at__gt=now,
            ends_at__lte=deadline_of(invitation.election),
            closed=False,
        )
        .exclude(pk=invitation.session_id)
        .select_related("service_point", "visit__village")
        .order_by("starts_at", "service_point_id", "pk")
    )
    found: list[Session] = []
    offset = 0
    while len(found) < limit:
        page = list(candidates[offset : offset + _SESSION_PAGE])
        if not page:
            break
        room = _room(page)
        found.extend(s for s in page if room[s.pk] > 0)
        offset += _SESSION_PAGE
    return found[:limit]


def free_sessions(
    invitation: Invitation,
    *,
    now: datetime | None = None,
    limit: int = 50,
    points: list[int] | None = None,
) -> list[Session]:
    """Sessions with a free invitation seat, after ``now`` and ending by the deadline, at points
    of the invitation's regency offering its service (``points`` when the caller knows them):
    its own point's earliest first, then the other points' earliest."""
    now = now or clock.now()
    ids = _points_with_sessions(invitation, now) if points is None else points
    own = [pk for pk in ids if pk == invitation.service_point_id]
    found = _free_at(invitation, own, now, limit)
    others = [pk for pk in ids if pk != invitation.service_point_id]
    return found + _free_at(invitation, others, now, limit - len(found))


# The reschedule page offers the free sessions of the points nearest the invitee's village
# (the mobile units of their regency/city too: they go to villages).
OFFERED_POINTS = 4
OFFERED_SESSIONS = 800


def offered_sessions(invitation: Invitation, *, now: datetime | None = None) -> list[Session]:
    """What the invitee may move to: free sessions before the deadline at their own point, the
    ``OFFERED_POINTS`` other points nearest their village and their regency's mobile units."""
    now = now or clock.now()
    ids = _points_with_sessions(invitation, now)
    village = invitation.village
    points = list(ServicePoint.objects.filter(pk__in=ids))
    mobile = [p.pk for p in points if p.kind == ServicePoint.Kind.MOBILE]
    fixed = [p for p in points if p.kind != ServicePoint.Kind.MOBILE]
    if village.lat is not None and village.lon is not None:
        home = (village.lat, village.lon)
        fixed.sort(
            key=lambda p: (
                p.lat is None or p.lon is None,
                haversine_km(*home, p.lat, p.lon) if p.lat is not None and p.lon is not None else 0,
                p.pk,
            )
        )
    nearest = [p.pk for p in fixed if p.pk != invitation.service_point_id][:OFFERED_POINTS]
    chosen = [pk for pk in ids if pk == invitation.service_point_id] + nearest + mobile
    return _free_at(invitation, chosen, now, OFFERED_SESSIONS)


def _move(invitation: Invitation, session: Session, new_state: str, now: datetime) -> Invitation:
    """A new invitation in ``session`` replacing ``invitation`` (now ``new_state``)."""
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if locked.closed:
        raise tokens.TokenRefused("Tempat layanan tutup pada hari itu. Silakan pilih sesi lain.")
    if _room([locked])[locked.pk] <= 0:
        raise tokens.TokenRefused("Sesi itu sudah penuh. Silakan pilih sesi lain.")
    if locked.ends_at > deadline_of(invitation.election) or locked.starts_at <= now:
        raise tokens.TokenRefused("Sesi itu tidak dapat dipilih.")
    changed = Invitation.objects.filter(pk=invitation.pk, state=Invitation.State.PLANNED).update(
        state=new_state, rescheduled_at=now
    )
    if not changed:
        raise tokens.TokenRefused("Tautan ganti jadwal ini sudah digunakan.")
    return Invitation.objects.create(
        run_id=invitation.run_id,
        election_id=invitation.election_id,
        voter_id=invitation.voter_id,
        village_id=invitation.village_id,
        rt=invitation.rt,
        rw=invitation.rw,
        service=invitation.service,
        rank=invitation.rank,
        service_point_id=locked.service_point_id,
        session=locked,
        starts_at=locked.starts_at,
        ends_at=locked.ends_at,
        km=invitation.km,
        reference=secrets.token_hex(12),
        replaces=invitation,
    )


@dataclass(frozen=True)
class StateChange:
    """One invitation leaving ``planned``: its new state and what else changed with it."""

    invitation: Invitation
    new_state: str
    also: dict[str, list[Any]] | None = None


def audit_states(
    changes: list[StateChange], *, acting_user: Any, action: str, actor_label: str = ""
) -> None:
    """One audit entry per invitation whose state changed (planned -> new), in one batch."""
    audit_record_many(
        acting_user=acting_user,
        action=action,
        changes=(
            (c.invitation, {"state": [str(Invitation.State.PLANNED), c.new_state]} | (c.also or {}))
            for c in changes
        ),
        actor_label=actor_label,
    )


def invitation_reschedule(
    *,
    token: str,
    session: Session,
    acting_user: Any = None,
    now: datetime | None = None,
    public_url: str | None = None,
) -> Invitation:
    """Spend a reschedule token: the invitee moves to ``session`` and the new invitation's
    message goes to the outbox. Once per token."""
    now = now or clock.now()
    read = tokens.read(token, tokens.RESCHEDULE, now=now)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(reference=read.reference).first()
        if invitation is None:
            raise tokens.TokenRefused("Kode undangan tidak sah.")
        check_reschedulable(invitation)
        if session.service_point_id not in eligible_points(
            invitation.service, str(invitation.village_id)[:5]
        ):
            raise tokens.TokenRefused("Sesi itu tidak dapat dipilih.")
        moved = _move(invitation, session, Invitation.State.RESCHEDULED, now)
        audit_record(
            acting_user=acting_user,
            action="invitation_reschedule",
            obj=moved,
            changes={"starts_at": [invitation.starts_at.isoformat(), moved.starts_at.isoformat()]},
            actor_label="" if acting_user else "undangan",
        )
        audit_states(
            [StateChange(invitation, Invitation.State.RESCHEDULED, _replaced_by(moved))],
            acting_user=acting_user,
            action="invitation_state",
            actor_label="" if acting_user else "undangan",
        )
        invitations_send(invitations=[moved], acting_user=acting_user, public_url=public_url)
    return moved


def _replaced_by(new: Invitation) -> dict[str, list[Any]]:
    return {"replaced_by": [None, new.reference]}


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def invitation_ics(invitation: Invitation, *, now: datetime | None = None) -> str:
    """The invitation as an iCalendar (RFC 5545) event, CRLF line ends. A rescheduled or
    re-invited invitation keeps the first one's UID with a higher SEQUENCE, so a calendar that
    saved the first updates that event instead of keeping both."""
    place = ", ".join(dict.fromkeys(invitation_place(invitation)))
    recording = invitation.service == Invitation.Service.RECORDING
    what = "Perekaman KTP-el" if recording else "Pengambilan KTP-el"
    with translation.override("id"):
        bring = f"Bawa: {WHAT_TO_BRING[invitation.service]}."
    first, moves = invitation, 0
    while first.replaces_id is not None and moves < _MAX_MOVES:
        first, moves = Invitation.objects.get(pk=first.replaces_id), moves + 1
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Rekam//Undangan//ID",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{first.reference}@rekam",
        f"SEQUENCE:{moves}",
        f"DTSTAMP:{_ics_time(now or timezone.now())}",
        f"DTSTART:{_ics_time(invitation.starts_at)}",
        f"DTEND:{_ics_time(invitation.ends_at)}",
        f"SUMMARY:{_ics_text(what)}",
        f"LOCATION:{_ics_text(place)}",
        f"DESCRIPTION:{_ics_text(bring)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


# Follow-up


@dataclass
class FollowUp:
    attended: int = 0
    no_show: int = 0
    reinvited: int = 0
    home_visit: int = 0
    # Cancelled because the invitee recorded (or got the card) meanwhile: missed ones, nobody
    # to chase, and ones still ahead, whose seats go back to others.
    done_meanwhile: int = 0
    # Invitations to a day the point closed afterwards: moved to a free session (with a new
    # message), or left where they are when no session is free before the deadline.
    moved_from_closed: int = 0
    stuck_on_closed: int = 0
    # Seats of sessions under way that the invitations' share held for nobody: now open to
    # walk-ins and online numbers.
    seats_released: int = 0

    def add(self, other: FollowUp) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def describe(self) -> str:
        """The figures in one Indonesian sentence (pages and the command)."""
        text = (
            f"{self.attended} hadir, {self.no_show} tidak hadir, {self.reinvited} diundang "
            f"ulang, {self.home_visit} masuk daftar kunjungan rumah, {self.done_meanwhile} sudah "
            "rekam atau menerima kartu (undangan dibatalkan)"
        )
        if self.moved_from_closed or self.stuck_on_closed:
            text += (
                f", {self.moved_from_closed} dipindahkan dari hari tempat layanan tutup"
                f" ({self.stuck_on_closed} tanpa sesi kosong)"
            )
        if self.seats_released:
            text += f", {self.seats_released} kursi undangan sesi berjalan dibuka untuk umum"
        return text


def _attended_refs(references: list[str]) -> set[str]:
    came = (State.DONE, *INSIDE_STATES)
    out: set[str] = set()
    for lo in range(0, len(references), 5_000):
        out.update(
            Ticket.objects.filter(
                invitation_ref__in=references[lo : lo + 5_000], state__in=came
            ).values_list("invitation_ref", flat=True)
        )
    return out


def _done_meanwhile(invitations: list[Invitation]) -> set[int]:
    """Those of ``invitations`` whose voter's resident has meanwhile done what the invitation
    was for (recorded elsewhere, or got the card), by the resident's KTP-el state now."""
    states = dict(
        Voter.objects.filter(
            pk__in=[i.voter_id for i in invitations], verdict__resident__isnull=False
        ).values_list("pk", "verdict__resident__ktp_state")
    )
    return {i.pk for i in invitations if states.get(i.voter_id) in DONE_STATES.get(i.service, ())}


def _cancel_done_ahead(
    election: Election,
    region_code: str,
    now: datetime,
    acting_user: Any,
    on_progress: FollowUpProgress,
) -> int:
    """Cancel the invitations not begun yet whose invitee has meanwhile done what they were for
    (recorded at another office, got the card), so their seats can go to others."""
    done = Q(pk__in=[])
    for service, states in DONE_STATES.items():
        done |= Q(service=service, voter__verdict__resident__ktp_state__in=states)
    ahead = _in_region(
        Invitation.objects.filter(
            election=election, state=Invitation.State.PLANNED, starts_at__gt=now
        ).filter(done),
        region_code,
    )
    ids = list(ahead.order_by("pk").values_list("pk", flat=True))
    on_progress("ahead", 0, len(ids))
    cancelled = 0
    for lo in range(0, len(ids), _FOLLOW_UP_CHUNK):
        with transaction.atomic():
            # Only those still planned now (a reschedule may have moved one meanwhile).
            chunk = list(
                Invitation.objects.select_for_update()
                .filter(pk__in=ids[lo : lo + _FOLLOW_UP_CHUNK], state=Invitation.State.PLANNED)
                .only("pk", "reference")
            )
            came = _attended_refs([i.reference for i in chunk])  # checked in early
            chunk = [i for i in chunk if i.reference not in came]
            Invitation.objects.filter(pk__in=[i.pk for i in chunk]).update(
                state=Invitation.State.CANCELLED
            )
            audit_states(
                [StateChange(i, Invitation.State.CANCELLED) for i in chunk],
                acting_user=acting_user,
                action="invitation_state",
            )
            cancelled += len(chunk)
        on_progress("ahead", min(lo + _FOLLOW_UP_CHUNK, len(ids)), len(ids))
    return cancelled


def _in_region(invitations: QuerySet[Invitation], region_code: str) -> QuerySet[Invitation]:
    """``invitations`` of villages inside ``region_code`` ("" for all; a village: its own)."""
    if not region_code:
        return invitations
    if region_code.count(".") == 3:
        return invitations.filter(village_id=region_code)
    return invitations.filter(village__code__startswith=region_code + ".")


def _move_to_free(
    invitation: Invitation,
    new_state: str,
    now: datetime,
    points: dict[tuple[str, str], list[int]],
    *,
    not_before: datetime,
) -> Invitation | None:
    """``invitation`` (now ``new_state``) replaced by one in the earliest free session starting
    after ``not_before`` at the points that may take it (``points`` caches them per service
    and regency), if any is left."""
    key = (invitation.service, str(invitation.village_id)[:5])
    if key not in points:
        points[key] = _points_with_sessions(invitation, now)
    for session in free_sessions(
        invitation, now=not_before, limit=_REINVITE_TRIES, points=points[key]
    ):
        try:
            with transaction.atomic():
                return _move(invitation, session, new_state, now)
        except tokens.TokenRefused:
            continue  # filled meanwhile: the next one
    return None


def _send_new(invitations: list[Invitation], acting_user: Any, public_url: str | None) -> None:
    """The messages of invitations just made by the follow-up."""
    if invitations:
        fresh = list(
            Invitation.objects.filter(pk__in=[i.pk for i in invitations]).select_related(
                "service_point", "session__visit"
            )
        )
        invitations_send(invitations=fresh, acting_user=acting_user, public_url=public_url)


def _settle(
    election: Election,
    ids: list[int],
    now: datetime,
    acting_user: Any,
    public_url: str | None,
    points: dict[tuple[str, str], list[int]],
) -> FollowUp:
    """Settle one chunk of due invitations in one transaction."""
    result = FollowUp()
    with transaction.atomic():
        # Plan sending and other follow-ups of the election take seats too: one at a time.
        Election.objects.select_for_update().filter(pk=election.pk).first()
        chunk = list(
            Invitation.objects.filter(pk__in=ids, state=Invitation.State.PLANNED)
            .select_related("election")
            .order_by("pk")
        )
        came = _attended_refs([i.reference for i in chunk])
        attended = [i for i in chunk if i.reference in came]
        not_came = [i for i in chunk if i.reference not in came]
        done = _done_meanwhile(not_came)
        finished = [i for i in not_came if i.pk in done]
        missed = [i for i in not_came if i.pk not in done]
        changes = [StateChange(i, Invitation.State.ATTENDED) for i in attended]
        changes += [StateChange(i, Invitation.State.CANCELLED) for i in finished]
        Invitation.objects.filter(pk__in=[i.pk for i in attended]).update(
            state=Invitation.State.ATTENDED
        )
        Invitation.objects.filter(pk__in=[i.pk for i in finished]).update(
            state=Invitation.State.CANCELLED
        )
        result.attended, result.no_show = len(attended), len(missed)
        result.done_meanwhile = len(finished)
        # A voter who already missed an invitation for the same service is not invited again.
        missed_before = set(
            Invitation.objects.filter(
                election=election,
                voter_id__in=[i.voter_id for i in missed],
                state=Invitation.State.NO_SHOW,
            ).values_list("voter_id", "service")
        )
        fresh: list[Invitation] = []
        home: list[Invitation] = []
        for invitation in missed:
            again = None
            if (invitation.voter_id, invitation.service) not in missed_before:
                # Leaving time for the message or letter to arrive (INVITATIONS_LEAD_HOURS).
                again = _move_to_free(
                    invitation,
                    Invitation.State.NO_SHOW,
                    now,
                    points,
                    not_before=earliest_session_start(now),
                )
            if again is None:
                home.append(invitation)
            else:
                fresh.append(again)
                changes.append(
                    StateChange(invitation, Invitation.State.NO_SHOW, _replaced_by(again))
                )
        Invitation.objects.filter(pk__in=[i.pk for i in home]).update(
            state=Invitation.State.NO_SHOW
        )
        changes += [StateChange(i, Invitation.State.NO_SHOW) for i in home]
        audit_states(changes, acting_user=acting_user, action="invitation_state")
        result.reinvited, result.home_visit = len(fresh), len(home)
        _send_new(fresh, acting_user, public_url)
    return result


def _move_from_closed(
    election: Election,
    region_code: str,
    now: datetime,
    acting_user: Any,
    public_url: str | None,
    points: dict[tuple[str, str], list[int]],
    on_progress: FollowUpProgress,
) -> FollowUp:
    """Invitations still ahead in sessions whose day the point has closed since, each moved to
    the earliest free session its message can reach in time (else the earliest free one at
    all), with a new message."""
    result = FollowUp()
    ahead = _in_region(
        Invitation.objects.filter(
            election=election,
            state=Invitation.State.PLANNED,
            session__closed=True,
            starts_at__gt=now,
        ),
        region_code,
    )
    ids = list(ahead.order_by("starts_at", "pk").values_list("pk", flat=True))
    on_progress("closed", 0, len(ids))
    for lo in range(0, len(ids), _FOLLOW_UP_CHUNK):
        with transaction.atomic():
            Election.objects.select_for_update().filter(pk=election.pk).first()
            chunk = list(
                Invitation.objects.filter(
                    pk__in=ids[lo : lo + _FOLLOW_UP_CHUNK], state=Invitation.State.PLANNED
                )
                .select_related("election")
                .order_by("pk")
            )
            moved: list[Invitation] = []
            changes: list[StateChange] = []
            for invitation in chunk:
                # In time for the message if possible, else any session still ahead.
                again = _move_to_free(
                    invitation,
                    Invitation.State.RESCHEDULED,
                    now,
                    points,
                    not_before=earliest_session_start(now),
                ) or _move_to_free(
                    invitation, Invitation.State.RESCHEDULED, now, points, not_before=now
                )
                if again is None:
                    result.stuck_on_closed += 1
                    continue
                moved.append(again)
                changes.append(
                    StateChange(invitation, Invitation.State.RESCHEDULED, _replaced_by(again))
                )
            audit_states(changes, acting_user=acting_user, action="invitation_moved_closed_day")
            result.moved_from_closed += len(moved)
            _send_new(moved, acting_user, public_url)
        on_progress("closed", min(lo + _FOLLOW_UP_CHUNK, len(ids)), len(ids))
    return result


def invitations_follow_up(
    *,
    election: Election,
    acting_user: Any,
    region_code: str = "",
    now: datetime | None = None,
    public_url: str | None = None,
    on_progress: FollowUpProgress = _quiet,
) -> FollowUp:
    """Settle invitations whose check-in has closed (the session's end plus the QR's grace, so
    a late arrival still counts): attended or no-show. A no-show whose resident has recorded
    (or got the card) meanwhile is cancelled, nobody to chase. A first no-show is re-invited
    into the earliest free session before the deadline (its own point first) and the new
    invitation's message goes to the outbox; a voter who misses again, or for whom no session
    is left, goes on the home-visit list. Invitations not begun yet whose invitee has done
    what they were for meanwhile are cancelled, and those in sessions whose day the point has
    closed since are moved to free sessions. Each state change is audited. A user acts within
    their jurisdiction (their regency/city when ``region_code`` is empty); ``None`` is the
    system. ``on_progress`` hears of each step (:data:`FOLLOW_UP_STEPS`) and chunk done."""
    if acting_user is not None:
        region_code = region_code or access.single_regency(acting_user) or ""
        where = plan_jurisdiction(election, region_code) or None
        access.require(acting_user, Action.PLAN_INVITATIONS, where)
    now = now or clock.now()
    due = _in_region(
        Invitation.objects.filter(
            election=election,
            state=Invitation.State.PLANNED,
            ends_at__lte=now - tokens.CHECKIN_GRACE,
        ),
        region_code,
    )
    ids = list(due.order_by("ends_at", "pk").values_list("pk", flat=True))
    result = FollowUp()
    points: dict[tuple[str, str], list[int]] = {}
    on_progress("settle", 0, len(ids))
    for lo in range(0, len(ids), _FOLLOW_UP_CHUNK):
        chunk = ids[lo : lo + _FOLLOW_UP_CHUNK]
        result.add(_settle(election, chunk, now, acting_user, public_url, points))
        on_progress("settle", lo + len(chunk), len(ids))
    result.done_meanwhile += _cancel_done_ahead(
        election, region_code, now, acting_user, on_progress
    )
    result.add(
        _move_from_closed(election, region_code, now, acting_user, public_url, points, on_progress)
    )
    on_progress("release", 0, 1)
    result.seats_released = _release_started(election, region_code, now)
    on_progress("release", 1, 1)
    audit_record(
        acting_user=acting_user,
        action="invitation_follow_up",
        obj=election,
        changes={k: [None, v] for k, v in vars(result).items()} | {"region": [None, region_code]},
    )
    return result


def _release_started(election: Election, region_code: str, now: datetime) -> int:
    """Shrink the invitations' share of sessions under way to the invitations that came or may
    still come (live ones of any election): nobody is invited into a session once it has begun
    (plans and re-invitations stay ``INVITATIONS_LEAD_HOURS`` ahead), so the rest of the share
    would stay empty while walk-ins are told to come back later. An invitee's own check-in
    never needs the share: it takes any seat left in the session. The points are those serving
    the election's regencies/cities inside ``region_code``; a mobile unit's visit stays for its
    invitees (its place is the visit's, which a walk-in's number would not name)."""
    regencies = {
        code
        for code in election.regions.values_list("code", flat=True)
        if not region_code or code == region_code[:5] or code.startswith(region_code + ".")
    }
    points = [
        p.pk
        for p in ServicePoint.objects.filter(is_active=True).select_related("office")
        if p.regency_code in regencies
    ]
    sessions = Session.objects.filter(
        service_point__in=points,
        starts_at__lte=now,
        ends_at__gt=now,
        closed=False,
        visit__isnull=True,
        invitation_capacity__gt=F("invitation_taken"),
    )
    under_way = list(sessions)
    coming = invitations_to_come([s.pk for s in under_way])
    released = 0
    for session in under_way:
        held = session.invitation_taken + coming.get(session.pk, 0)
        if held < session.invitation_capacity:
            # Conditional: a check-in or another run in between leaves the session as it is.
            released += (session.invitation_capacity - held) * Session.objects.filter(
                pk=session.pk,
                invitation_capacity=session.invitation_capacity,
                invitation_taken=session.invitation_taken,
            ).update(invitation_capacity=held)
    return released


def home_visits(election: Election, region_code: str = "") -> QuerySet[Invitation]:
    """Voters a mobile unit should visit at home: a no-show not re-invited (they had missed
    before, or no session was left), by village, RW, RT and name."""
    return _in_region(
        Invitation.objects.filter(
            election=election, state=Invitation.State.NO_SHOW, replaced_by__isnull=True
        ),
        region_code,
    ).order_by("village_id", "rw", "rt", "voter__name_key", "id")


COUNTS = ("invited", "attended", "no_show", "reinvited", "home_visit")


def counts_by_village(election: Election, region_code: str = "") -> dict[str, dict[str, int]]:
    """Per village (inside ``region_code``, "" for all): people invited, invitations attended
    and missed, re-invitations after a no-show, and people on the home-visit list."""
    rows = (
        _in_region(Invitation.objects.filter(election=election), region_code)
        .values("village_id")
        .annotate(
            # Every first invitation was sent, also one cancelled since (recorded elsewhere).
            invited=Count("id", filter=Q(replaces__isnull=True)),
            attended=Count("id", filter=Q(state=Invitation.State.ATTENDED)),
            no_show=Count("id", filter=Q(state=Invitation.State.NO_SHOW)),
            reinvited=Count(
                "id", filter=Q(replaces__isnull=False, replaces__state=Invitation.State.NO_SHOW)
            ),
            home_visit=Count(
                "id", filter=Q(state=Invitation.State.NO_SHOW, replaced_by__isnull=True)
            ),
        )
        .order_by("village_id")
    )
    return {
        str(village): dict(zip(COUNTS, figures, strict=True))
        for village, *figures in rows.values_list("village_id", *COUNTS)
    }


# Messages


def _office_names(regencies: Iterable[str]) -> dict[str, str]:
    return dict(
        Office.objects.filter(kind=Office.Kind.REGENCY, region_id__in=set(regencies)).values_list(
            "region_id", "name"
        )
    )


def invitations_send(
    *,
    invitations: list[Invitation],
    acting_user: Any,
    office: str = "",
    public_url: str | None = None,
) -> int:
    """Put each invitation's message (WhatsApp, then the other channels) in the outbox, for
    invitees matched to a registry entry, in one batch: recording and card pick-up each in
    its own message family, signed by ``office`` (else the regency/city office of the
    invitee's village), with the reschedule page and calendar file under ``public_url``
    (default ``INVITATIONS_PUBLIC_URL``, else the address its plan was approved on; none when
    neither is known). Sending again puts nothing twice
    (each message's key is its invitation's reference). Returns the invitations messaged."""
    given = settings.INVITATIONS_PUBLIC_URL if public_url is None else public_url
    # Without an address given or set, each plan's own: the site it was approved on.
    stored: dict[int, str] = {}
    if not given and public_url is None:
        stored = {
            pk: str(options.get("public_url") or "")
            for pk, options in PlanRun.objects.filter(
                pk__in={i.run_id for i in invitations}
            ).values_list("pk", "options")
        }
    residents = dict(
        VoterCheck.objects.filter(
            voter_id__in=[i.voter_id for i in invitations], resident__isnull=False
        ).values_list("voter_id", "resident_id")
    )
    people = Resident.objects.in_bulk(list(residents.values()))
    offices = {} if office else _office_names(str(i.village_id)[:5] for i in invitations)
    outgoing: list[Outgoing] = []
    for inv in invitations:
        resident = people.get(residents.get(inv.voter_id, -1))
        if resident is None:
            continue
        place, address = invitation_place(inv)
        data: dict[str, Any] = {
            "name": resident.name,
            "starts_at": inv.starts_at,
            "place": place,
            "address": address,
            "office": office or offices.get(str(inv.village_id)[:5], "Disdukcapil"),
            "code": typed_code(inv),
            # The WhatsApp template's button holds the address; this ends it.
            "reschedule_path": reschedule_token(inv) + "/",
        }
        data |= public_links(inv, given or stored.get(inv.run_id, ""))
        outgoing.append(
            Outgoing(
                recipient=resident,
                template=FAMILIES[inv.service],
                data=data,
                idempotency_key=MESSAGE_KEY + inv.reference,
            )
        )
    if outgoing:
        message_send_many(outgoing, acting_user=acting_user)
    return len(outgoing)
