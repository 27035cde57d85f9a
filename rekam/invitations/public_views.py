"""Public invitation pages (no login): the reschedule page a message or letter links to, and
the calendar file.

Each is reached by a signed token naming one invitation (see :mod:`.tokens`): the link is the
secret, so no look-up by personal data happens here. The page shows the invitation with a
masked NIK and a short name only. Changing the session is once per link (the new invitation
gets a link of its own); refused tokens and every change count towards the queue's per-address
limit of public requests.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from rekam.antrean.models import Session
from rekam.antrean.views import short_name
from rekam.lib.geo import haversine_km
from rekam.lib.nik import mask_nik
from rekam.lib.qr import qr_png
from rekam.web import ratelimit

from . import tokens
from .invites import (
    LIVE,
    WHAT_TO_BRING,
    calendar_token,
    check_reschedulable,
    checkin_token,
    invitation_for_token,
    invitation_ics,
    invitation_place,
    invitation_reschedule,
    offered_sessions,
    reschedule_token,
    session_place,
    typed_code,
)
from .models import Invitation

# Places offered a day, nearest to the invitee's village first.
PLACES_A_DAY = 3


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303


def public_base(request: HttpRequest) -> str:
    """The address links in messages and letters start with: the setting, else the address
    this request came to."""
    return settings.INVITATIONS_PUBLIC_URL or request.build_absolute_uri("/")


def _allowed(request: HttpRequest) -> bool:
    """Count one request against the address's per-minute limit of the public pages."""
    return ratelimit.allow(
        f"undangan:{ratelimit.client_ip(request)}",
        limit=settings.ANTREAN_RATE_IP_PER_MINUTE,
        seconds=60,
    )


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "invitations/public_refused.html", {"message": message}, status=410)


def _qr_data_uri(text: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(text, scale=5)).decode("ascii")


def _where(session: Session) -> tuple[float, float] | None:
    """Where a session takes place: its mobile visit's spot (or village), else its point."""
    visit = session.visit if session.visit_id else None
    for spot in (visit, getattr(visit, "village", None), session.service_point):
        if spot is not None and spot.lat is not None and spot.lon is not None:
            return spot.lat, spot.lon
    return None


def _offers(invitation: Invitation) -> list[dict[str, Any]]:
    """The free sessions by day: each day's nearest places to the invitee's village (at most
    PLACES_A_DAY), each with its free hours, so the choice fits on a phone."""
    home = invitation.village
    by_day: dict[date, dict[tuple[int, int | None], dict[str, Any]]] = defaultdict(dict)
    for s in offered_sessions(invitation):
        place, address = session_place(s, s.service_point)
        spot = _where(s)
        km = (
            haversine_km(home.lat, home.lon, *spot)
            if spot is not None and home.lat is not None and home.lon is not None
            else None
        )
        day = timezone.localtime(s.starts_at).date()
        entry = by_day[day].setdefault(
            (s.service_point_id, s.visit_id),
            {"place": place, "address": address, "km": km, "sessions": []},
        )
        entry["sessions"].append(s)
    out = []
    for day in sorted(by_day):
        places = sorted(
            by_day[day].values(),
            key=lambda e: (e["km"] is None, e["km"] or 0.0, e["sessions"][0].starts_at),
        )[:PLACES_A_DAY]
        for e in places:
            e["sessions"].sort(key=lambda s: s.starts_at)
        out.append({"day": day, "places": places})
    return out


def _page(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    place, address = invitation_place(invitation)
    voter = invitation.voter
    return render(
        request,
        "invitations/public_reschedule.html",
        {
            "invitation": invitation,
            "greeting": short_name(voter.name),
            "masked_nik": mask_nik(voter.nik) if voter.nik else "",
            "place": place,
            "address": address if address != place else "",
            "bring": WHAT_TO_BRING[invitation.service],
            "qr": _qr_data_uri(checkin_token(invitation)),
            "calendar_url": reverse("invitations_calendar", args=[calendar_token(invitation)]),
            "days": _offers(invitation),
            "polling_day": invitation.election.polling_day,
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def reschedule_page(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation, its check-in QR and calendar file, and the free sessions before polling
    day; choosing one moves the invitation (once per link) and shows the new one."""
    if request.method == "POST" and not _allowed(request):
        return ratelimit.too_many(request, seconds=60)
    try:
        invitation = invitation_for_token(token, tokens.RESCHEDULE)
        check_reschedulable(invitation)
    except tokens.TokenRefused as exc:
        # Guessing links costs requests as well.
        if request.method != "POST" and not _allowed(request):
            return ratelimit.too_many(request, seconds=60)
        return _refused(request, str(exc))
    if request.method != "POST":
        return _page(request, invitation)
    here = reverse("invitations_reschedule", args=[token])
    chosen = request.POST.get("session", "")
    # Only a session offered now: one that filled or was never on offer is refused here.
    offered = {s.pk: s for s in offered_sessions(invitation)}
    if not chosen.isdigit() or int(chosen) not in offered:
        messages.error(request, "Sesi itu sudah penuh atau tidak dapat dipilih. Pilih sesi lain.")
        return HttpResponseSeeOther(here)
    try:
        moved = invitation_reschedule(
            token=token, session=offered[int(chosen)], public_url=public_base(request)
        )
    except tokens.TokenRefused as exc:
        messages.error(request, str(exc))
        return HttpResponseSeeOther(here)
    messages.success(
        request,
        "Jadwal Anda sudah diganti. Undangan lama tidak berlaku lagi; tunjukkan kode QR di "
        "bawah ini di pintu masuk.",
    )
    return HttpResponseSeeOther(reverse("invitations_reschedule", args=[reschedule_token(moved)]))


@require_GET
def calendar_file(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's calendar file (.ics), while it stands."""
    try:
        invitation = invitation_for_token(token, tokens.CALENDAR)
        if invitation.state not in LIVE:
            raise tokens.TokenRefused("Undangan ini sudah tidak berlaku.")
    except tokens.TokenRefused as exc:
        if not _allowed(request):
            return ratelimit.too_many(request, seconds=60)
        return _refused(request, str(exc))
    response = HttpResponse(invitation_ics(invitation), content_type="text/calendar; charset=utf-8")
    code = typed_code(invitation)
    response["Content-Disposition"] = f'attachment; filename="undangan-{code}.ics"'
    return response
