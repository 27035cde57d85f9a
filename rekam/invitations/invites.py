"""One invitation's life after planning: its tokens, the gate check-in, rescheduling, the
calendar file, and the follow-up of those who did not come.

Attendance comes from the queue: an invitation attended when the ticket booked under its
reference was checked in. A no-show is re-invited once into a free session before the deadline;
a re-invitation not attended puts the voter on the home-visit list for a mobile unit.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.antrean import clock
from rekam.antrean.models import INSIDE_STATES, Session, State, Ticket
from rekam.antrean.services import InvitationClaim, QueueRefused
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.notifications.services import message_send
from rekam.residents.models import Resident
from rekam.servicepoints.models import ServicePoint
from rekam.voters.models import VoterCheck

from . import tokens
from .models import Invitation
from .services import deadline_of

LIVE = (Invitation.State.PLANNED, Invitation.State.ATTENDED)
_OFFERS: dict[str, str] = {
    Invitation.Service.RECORDING: "offers_recording",
    Invitation.Service.PRINTING: "offers_printing",
}


def invitation_place(invitation: Invitation) -> tuple[str, str]:
    """Where the invitee goes, name and address: a mobile unit's visit (a village hall) when
    the session is one, else the service point."""
    visit = invitation.session.visit if invitation.session.visit_id else None
    if visit is not None:
        return visit.place_name, visit.address or visit.place_name
    point = invitation.service_point
    return point.name, point.address or point.name


def checkin_token(invitation: Invitation) -> str:
    """The QR text that checks the invitee in (valid until a while after the session)."""
    expires = invitation.ends_at + tokens.CHECKIN_GRACE
    return tokens.QR_PREFIX + tokens.make(invitation.reference, tokens.CHECKIN, expires)


def reschedule_token(invitation: Invitation) -> str:
    """The reschedule link's token: valid until the invited session starts."""
    return tokens.make(invitation.reference, tokens.RESCHEDULE, invitation.starts_at)


def resolve_checkin(text: str) -> InvitationClaim:
    """The queue's resolver: who a check-in token invites, where and when (no side effects)."""
    try:
        token = tokens.read(text, tokens.CHECKIN, now=clock.now())
    except tokens.TokenRefused as exc:
        raise QueueRefused(str(exc), code="invalid") from None
    invitation = (
        Invitation.objects.filter(reference=token.reference).select_related("voter").first()
    )
    if invitation is None or invitation.state not in LIVE:
        raise QueueRefused("Undangan ini sudah tidak berlaku.", code="inactive")
    return InvitationClaim(
        reference=invitation.reference,
        service_point_id=invitation.service_point_id,
        starts_at=invitation.starts_at,
        service=invitation.service,
    )


def _room(sessions: list[Session]) -> dict[int, int]:
    """Invitation seats still free in each session."""
    live = dict(
        Invitation.objects.filter(session__in=sessions, state__in=LIVE)
        .values("session_id")
        .annotate(n=Count("id"))
        .values_list("session_id", "n")
    )
    return {
        s.pk: max(0, s.invitation_capacity - s.invitation_taken - live.get(s.pk, 0))
        for s in sessions
    }


def _eligible_points(invitation: Invitation) -> list[int]:
    """Points of the invitation's regency offering its service."""
    points = ServicePoint.objects.filter(
        is_active=True, **{_OFFERS[invitation.service]: True}
    ).select_related("office")
    regency = str(invitation.village_id)[:5]
    return [p.pk for p in points if p.regency_code == regency]


def free_sessions(
    invitation: Invitation, *, now: datetime | None = None, limit: int = 50
) -> list[Session]:
    """Sessions with a free invitation seat, after ``now`` and ending by the deadline, at points
    of the invitation's regency offering its service (its own point first)."""
    now = now or clock.now()
    ids = _eligible_points(invitation)
    candidates = list(
        Session.objects.filter(
            service_point_id__in=ids,
            starts_at__gt=now,
            ends_at__lte=deadline_of(invitation.election),
        )
        .exclude(pk=invitation.session_id)
        .select_related("service_point")
        .order_by("starts_at", "service_point_id")[: limit * 20]
    )
    room = _room(candidates)
    free = [s for s in candidates if room[s.pk] > 0]
    free.sort(key=lambda s: (s.service_point_id != invitation.service_point_id, s.starts_at))
    return free[:limit]


def _move(invitation: Invitation, session: Session, new_state: str, now: datetime) -> Invitation:
    """A new invitation in ``session`` replacing ``invitation`` (now ``new_state``)."""
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if _room([locked])[locked.pk] <= 0:
        raise tokens.TokenRefused("Sesi itu sudah penuh. Silakan pilih sesi lain.")
    if locked.ends_at > deadline_of(invitation.election) or locked.starts_at <= now:
        raise tokens.TokenRefused("Sesi itu tidak dapat dipilih.")
    changed = Invitation.objects.filter(pk=invitation.pk, state=Invitation.State.PLANNED).update(
        state=new_state, rescheduled_at=now
    )
    if new_state == Invitation.State.RESCHEDULED and not changed:
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


def invitation_reschedule(
    *, token: str, session: Session, acting_user: Any = None, now: datetime | None = None
) -> Invitation:
    """Spend a reschedule token: the invitee moves to ``session``. Once per token."""
    now = now or clock.now()
    read = tokens.read(token, tokens.RESCHEDULE, now=now)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(reference=read.reference).first()
        if invitation is None:
            raise tokens.TokenRefused("Kode undangan tidak sah.")
        if invitation.state != Invitation.State.PLANNED:
            raise tokens.TokenRefused("Tautan ganti jadwal ini sudah digunakan.")
        if session.service_point_id not in _eligible_points(invitation):
            raise tokens.TokenRefused("Sesi itu tidak dapat dipilih.")
        moved = _move(invitation, session, Invitation.State.RESCHEDULED, now)
        audit_record(
            acting_user=acting_user,
            action="invitation_reschedule",
            obj=moved,
            changes={"starts_at": [invitation.starts_at.isoformat(), moved.starts_at.isoformat()]},
            actor_label="" if acting_user else "undangan",
        )
    return moved


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def invitation_ics(invitation: Invitation, *, now: datetime | None = None) -> str:
    """The invitation as an iCalendar (RFC 5545) event, CRLF line ends."""
    place = ", ".join(dict.fromkeys(invitation_place(invitation)))
    what = (
        "Perekaman KTP-el"
        if invitation.service == Invitation.Service.RECORDING
        else "Pengambilan KTP-el"
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Rekam//Undangan//ID",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{invitation.reference}@rekam",
        f"DTSTAMP:{_ics_time(now or timezone.now())}",
        f"DTSTART:{_ics_time(invitation.starts_at)}",
        f"DTEND:{_ics_time(invitation.ends_at)}",
        f"SUMMARY:{_ics_text(what)}",
        f"LOCATION:{_ics_text(place)}",
        f"DESCRIPTION:{_ics_text('Bawa fotokopi Kartu Keluarga.')}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


@dataclass
class FollowUp:
    attended: int = 0
    no_show: int = 0
    reinvited: int = 0
    home_visit: int = 0


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


def invitations_follow_up(
    *, election: Election, acting_user: Any, region_code: str = "", now: datetime | None = None
) -> FollowUp:
    """Settle invitations whose session is over: attended or no-show; a first no-show is
    re-invited into the earliest free session before the deadline, a second goes on the
    home-visit list (a no-show invitation that already replaces one)."""
    if acting_user is not None:
        access.require(acting_user, Action.PLAN_INVITATIONS, region_code or None)
    now = now or clock.now()
    due = Invitation.objects.filter(
        election=election, state=Invitation.State.PLANNED, ends_at__lte=now
    ).select_related("election")
    if region_code:
        due = due.filter(village_id__startswith=region_code + ".")
    due_list = list(due)
    came = _attended_refs([i.reference for i in due_list])
    result = FollowUp()
    for invitation in due_list:
        with transaction.atomic():
            if invitation.reference in came:
                Invitation.objects.filter(pk=invitation.pk).update(state=Invitation.State.ATTENDED)
                result.attended += 1
                continue
            Invitation.objects.filter(pk=invitation.pk).update(state=Invitation.State.NO_SHOW)
            result.no_show += 1
            if invitation.replaces_id is not None:
                result.home_visit += 1
                continue
            options = free_sessions(invitation, now=now, limit=1)
            if not options:
                result.home_visit += 1
                continue
            _move(invitation, options[0], Invitation.State.NO_SHOW, now)
            result.reinvited += 1
    audit_record(
        acting_user=acting_user,
        action="invitation_follow_up",
        obj=election,
        changes={k: [None, v] for k, v in vars(result).items()},
    )
    return result


def home_visits(election: Election) -> list[Invitation]:
    """Voters who missed a re-invitation (or had no free session left): for a mobile unit."""
    reinvited = Invitation.objects.filter(election=election, replaces__isnull=False)
    return list(
        Invitation.objects.filter(election=election, state=Invitation.State.NO_SHOW)
        .filter(Q(replaces__isnull=False) | ~Q(pk__in=reinvited.values("replaces_id")))
        .order_by("village_id", "rw", "rt", "id")
    )


def counts_by_village(election: Election) -> dict[str, dict[str, int]]:
    """Per village: invited, attended, no-show and re-invited."""
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"invited": 0, "attended": 0, "no_show": 0, "reinvited": 0}
    )
    rows = (
        Invitation.objects.filter(election=election)
        .values("village_id")
        .annotate(
            invited=Count("id", filter=Q(replaces__isnull=True)),
            attended=Count("id", filter=Q(state=Invitation.State.ATTENDED)),
            no_show=Count("id", filter=Q(state=Invitation.State.NO_SHOW)),
            reinvited=Count(
                "id", filter=Q(replaces__isnull=False, replaces__state=Invitation.State.NO_SHOW)
            ),
        )
        .order_by("village_id")
    )
    for r in rows:
        out[r["village_id"]] = {k: r[k] for k in ("invited", "attended", "no_show", "reinvited")}
    return dict(out)


def invitations_send(
    *,
    invitations: list[Invitation],
    acting_user: Any,
    office: str,
    reschedule_base: str = "",
) -> int:
    """Put each invitation's message (WhatsApp, then the other channels) in the outbox, for
    invitees matched to a registry entry. Only recording has a message family so far; card
    pick-up invitations go by letter. Sending again puts nothing twice (idempotency key)."""
    wanted = [i for i in invitations if i.service == Invitation.Service.RECORDING]
    residents = dict(
        VoterCheck.objects.filter(
            voter_id__in=[i.voter_id for i in wanted], resident__isnull=False
        ).values_list("voter_id", "resident_id")
    )
    people = Resident.objects.in_bulk(list(residents.values()))
    sent = 0
    for inv in wanted:
        resident = people.get(residents.get(inv.voter_id, -1))
        if resident is None:
            continue
        place, address = invitation_place(inv)
        data: dict[str, Any] = {
            "name": resident.name,
            "starts_at": inv.starts_at,
            "place": place,
            "address": address,
            "office": office,
            # The reference's random tail: its head is the plan's run and a count.
            "code": inv.reference[-8:].upper(),
        }
        if reschedule_base:
            data["reschedule_url"] = reschedule_base + reschedule_token(inv)
        message_send(
            recipient=resident,
            template="invitation",
            data=data,
            idempotency_key=f"invitation:{inv.reference}",
            acting_user=acting_user,
        )
        sent += 1
    return sent
