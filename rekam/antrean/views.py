"""Queue pages: the public online number, status and board; the gate, counters and figures.

Public pages know a resident by a signed cookie set once NIK and date of birth matched the
registry; they never show a NIK in full. Staff pages check every request through
``rekam.accounts.access``; every change goes through ``services``.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.lib.dates import DateError, parse_date
from rekam.lib.geo import haversine_km
from rekam.lib.nik import mask_nik
from rekam.lib.qr import qr_png
from rekam.residents.eligibility import ktp_duty_day, must_hold_ktp
from rekam.residents.models import Resident
from rekam.residents.services import recording_refusal
from rekam.residents.states import RECORDABLE_STATES, RECORDED_STATES, KtpState
from rekam.servicepoints.models import Service, ServicePoint
from rekam.web import ratelimit

from . import clock, forms
from .calendar import day_plans, plans_many
from .figures import day_figures
from .models import ACTIVE_STATES, Channel, Outcome, Priority, Session, State, Ticket
from .offers import SuketOffer, services_for_state, suket_offer
from .queries import LAST_CALLS, board_data, occupancy, sessions_today, ticket_status
from .services import (
    COUNTER_ACTION,
    GATE_ACTION,
    SERVICES,
    TICKET_QR_PREFIX,
    TYPED_TICKET_CODE,
    QueueRefused,
    active_ticket_of,
    checkin_invitation,
    current_at_counter,
    online_number_held,
    point_in_jurisdiction,
    public_rooms,
    record_work_here,
    sessions_ensure,
    ticket_book_online,
    ticket_call_next,
    ticket_cancel,
    ticket_check_in,
    ticket_close,
    ticket_from_qr,
    ticket_issue_walkin,
    ticket_no_show,
    ticket_recall,
    ticket_set_nik,
    ticket_transfer,
    waiting_line,
)

IDENTITY_COOKIE = "antrean_penduduk"
# A cancelled number's NIK, offered again in the gate's form (in the officer's session).
GATE_NIK_KEY = "antrean_gate_nik"
IDENTITY_SALT = "rekam.antrean.identity"
# The numbers booked in this browser (signed ids): the identity cookie lasts minutes, these
# as long as a booking can be ahead. Only these may be cancelled without typing their code.
BOOKED_COOKIE = "antrean_nomor"
BOOKED_SALT = "rekam.antrean.booked"
BOOKED_KEPT = 20  # the latest ones; one number a day over the booking window fits


NIK_GUESS_SECONDS = 900


def _too_many(request: HttpRequest, *, seconds: int, reason: str, **values: Any) -> HttpResponse:
    """The refusal of one attempt too many, saying why: ``reason`` with ``values`` and
    ``%(time)s``, the moment the limit's window of ``seconds`` ends (when to try again)."""
    until = ratelimit.window_end(seconds)
    at = timezone.localtime(datetime.fromtimestamp(until, tz=UTC))
    context = {"reason": reason % {**values, "time": f"{at:%H.%M}"}}
    response = render(request, "antrean/too_many.html", context, status=429)
    response["Retry-After"] = str(max(1, ratelimit.seconds_left(seconds)))
    return response


def _ip_allowed(request: HttpRequest, *, identify: bool = False) -> bool:
    """Count one request against the address's per-minute limit: identity checks apart from
    bookings and cancellations, so that neither crowds the other out behind a shared address
    (a carrier's NAT, a village official booking for several people)."""
    scope, limit = (
        ("ip-identify", settings.ANTREAN_RATE_IDENTIFY_PER_MINUTE)
        if identify
        else ("ip", settings.ANTREAN_RATE_IP_PER_MINUTE)
    )
    return ratelimit.allow(f"{scope}:{ratelimit.client_ip(request)}", limit=limit, seconds=60)


def _too_many_from_address(request: HttpRequest) -> HttpResponse:
    return _too_many(
        request,
        seconds=60,
        reason=gettext(
            "Too many requests came from your internet address within one minute (many phones "
            "may share it). Please try again at %(time)s."
        ),
    )


@dataclass(frozen=True)
class Identity:
    """What proving NIK and date of birth established, carried in the signed cookie: enough
    for a booking to be checked without reading the registry again."""

    resident_id: int
    ktp_state: str
    birth_date: date
    marital_status: str

    @classmethod
    def of(cls, resident: Resident) -> Identity:
        return cls(resident.pk, resident.ktp_state, resident.birth_date, resident.marital_status)

    def text(self) -> str:
        born = self.birth_date.isoformat()
        return f"{self.resident_id}:{self.ktp_state}:{born}:{self.marital_status}"

    @classmethod
    def parse(cls, text: str) -> Identity | None:
        try:
            pk, state, born, marital = text.split(":")
            return cls(int(pk), state, date.fromisoformat(born), marital)
        except ValueError:
            return None


def identity_cookie_value(resident: Resident) -> str:
    """The signed value of the identity cookie (what a browser carries after proving NIK)."""
    response = HttpResponse()
    response.set_signed_cookie(IDENTITY_COOKIE, Identity.of(resident).text(), salt=IDENTITY_SALT)
    return str(response.cookies[IDENTITY_COOKIE].value)


def _set_identity(request: HttpRequest, response: HttpResponse, resident: Resident) -> None:
    response.set_signed_cookie(
        IDENTITY_COOKIE,
        Identity.of(resident).text(),
        salt=IDENTITY_SALT,
        max_age=settings.ANTREAN_IDENTITY_MINUTES * 60,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def _identity(request: HttpRequest) -> Identity | None:
    """Who proved NIK and date of birth in this browser (from the signed cookie)."""
    value = request.get_signed_cookie(
        IDENTITY_COOKIE,
        default=None,
        salt=IDENTITY_SALT,
        max_age=settings.ANTREAN_IDENTITY_MINUTES * 60,
    )
    return Identity.parse(value) if value else None


def _booked_here(request: HttpRequest) -> list[int]:
    """The ids of the numbers booked in this browser (from the signed cookie)."""
    value = (
        request.get_signed_cookie(
            BOOKED_COOKIE, default="", salt=BOOKED_SALT, max_age=_booked_max_age()
        )
        or ""
    )
    return [int(part) for part in value.split(",") if part.isdecimal() and part.isascii()]


def _booked_max_age() -> int:
    return (settings.ANTREAN_BOOKING_DAYS + 1) * 24 * 3600


def _remember_booked(request: HttpRequest, response: HttpResponse, ticket: Ticket) -> None:
    kept = [pk for pk in _booked_here(request) if pk != ticket.pk][-(BOOKED_KEPT - 1) :]
    response.set_signed_cookie(
        BOOKED_COOKIE,
        ",".join(str(pk) for pk in [*kept, ticket.pk]),
        salt=BOOKED_SALT,
        max_age=_booked_max_age(),
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def _identified_id(request: HttpRequest) -> int | None:
    identity = _identity(request)
    return identity.resident_id if identity else None


def _identified(request: HttpRequest) -> Resident | None:
    resident_id = _identified_id(request)
    return None if resident_id is None else Resident.objects.filter(pk=resident_id).first()


def when(ticket: Ticket) -> str:
    """A number's day and arrival window in the page's language: "Kamis, 3 Desember 2020,
    09.00–10.00"."""
    start, end = timezone.localtime(ticket.window_start), timezone.localtime(ticket.window_end)
    return f"{date_format(ticket.day, 'l, j F Y')}, {start:%H.%M}–{end:%H.%M}"


def short_name(name: str) -> str:
    """The first name and initials: enough to greet, little to leak."""
    parts = name.split()
    if not parts:
        return ""
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:])])


# Public: online numbers


@require_http_methods(["GET", "HEAD", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = forms.IdentifyForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if not _ip_allowed(request, identify=True):
            return _too_many_from_address(request)
        if form.is_valid():
            nik = form.cleaned_data["nik"]
            # Only wrong birth dates count against a NIK: counting every proof would let
            # anyone who knows a NIK lock its owner out.
            limit = settings.ANTREAN_RATE_NIK_PER_15_MINUTES
            guesses = {"limit": limit, "seconds": NIK_GUESS_SECONDS}
            if ratelimit.exhausted(f"nik:{nik}", **guesses):
                return _too_many(
                    request,
                    seconds=NIK_GUESS_SECONDS,
                    reason=gettext(
                        "The date of birth was wrong %(count)s times for this NIK. To protect "
                        "it, this NIK cannot be checked again until %(time)s. If you are sure "
                        "of your date of birth, your data in the population register may "
                        "differ: ask the Disdukcapil office."
                    ),
                    count=limit,
                )
            resident = Resident.objects.filter(
                nik=nik, birth_date=form.cleaned_data["birth_date"]
            ).first()
            if resident is None:
                ratelimit.allow(f"nik:{nik}", **guesses)
                error = (
                    "NIK dan tanggal lahir tidak cocok dengan data kependudukan. Periksa "
                    "kembali, atau datang ke kantor Disdukcapil bila data Anda belum terdaftar."
                )
            else:
                response = redirect("antrean_schedule")
                _set_identity(request, response, resident)
                return response
    return render(request, "antrean/start.html", {"form": form, "error": error})


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    response = redirect("antrean_start")
    response.delete_cookie(IDENTITY_COOKIE)
    response.delete_cookie(BOOKED_COOKIE)  # "Not you?": the next person starts afresh
    return response


def first_recording_day(resident: Resident, days: list[date]) -> date | None:
    """The first of ``days`` on which ``resident`` may record (:func:`recording_refusal`)."""
    return next((day for day in days if not recording_refusal(resident, day)), None)


@dataclass(frozen=True)
class Advice:
    """What a KTP-el state means to the resident, what happens next (with the usual wait where
    the domain knows one) and what they should do."""

    meaning: Any
    next: Any
    todo: Any


_RECORD_AGAIN = Advice(
    _(
        "The national data centre could not use your recording: your fingerprints, irises or "
        "photo were unreadable or incomplete."
    ),
    _(
        "No card can be made from it. Your biometrics must be recorded again; it is free and "
        "takes about 10 minutes at the counter."
    ),
    _("Come to record again: take a number for KTP-el recording below."),
)
_NOTHING_TO_DO = _("Nothing for now: you do not need to come. Check this page again later.")

STATE_ADVICE: dict[str, Advice] = {
    KtpState.BELUM_REKAM: Advice(
        _(
            "You have not recorded your biometrics (photo, fingerprints, irises and signature) "
            "for the KTP-el yet."
        ),
        _(
            "After recording, your data is sent to the national data centre to be checked; "
            "then your card can be printed."
        ),
        _("Come to record: take a number for KTP-el recording below. Bring your family card (KK)."),
    ),
    KtpState.BIO_CAPTURED: Advice(
        _("Your biometrics have been recorded at a service point."),
        _(
            "Your recording is sent to the national data centre and checked there. From "
            "recording to a card ready to print usually takes from a day to several weeks, "
            "sometimes months."
        ),
        _NOTHING_TO_DO,
    ),
    KtpState.SENT_FOR_ENROLLMENT: Advice(
        _("Your recording has been sent to the national data centre."),
        _(
            "It must arrive there before it is checked; this alone can take from 1 to 20 days "
            "or more."
        ),
        _NOTHING_TO_DO,
    ),
    KtpState.RECEIVED_AT_CENTRAL: Advice(
        _(
            "Your recording has reached the national data centre. It is being compared with the "
            "fingerprints, irises and faces of everyone in Indonesia, so that each person has "
            "only one KTP-el (deduplication, \u201cpenunggalan\u201d)."
        ),
        _(
            "When the check passes, your card is ready to print. This can take from a few days "
            "to several months."
        ),
        _NOTHING_TO_DO,
    ),
    KtpState.ENROLL_FAILURE: _RECORD_AGAIN,
    KtpState.SEARCH_FAILURE: _RECORD_AGAIN,
    KtpState.ADJUDICATE_RECORD: Advice(
        _(
            "Your recording looks like another person's. An expert at the national data centre "
            "must decide whether it is you alone (adjudication)."
        ),
        _("If the expert decides it is you alone, your card becomes ready to print."),
        _("Nothing for now: you do not need to come unless the Disdukcapil office asks you to."),
    ),
    KtpState.DUPLICATE_RECORD: Advice(
        _("You have been found recorded twice (a duplicate record, for example under two NIKs)."),
        _(
            "No card can be printed until the Disdukcapil office has resolved the duplicate with "
            "the national data centre."
        ),
        _(
            "Contact or visit the Disdukcapil office of your regency/city, with your family "
            "card (KK), so that it can be resolved."
        ),
    ),
    KtpState.PRINT_READY_RECORD: Advice(
        _(
            "Your data has passed every check: your KTP-el is ready to print (PRR, print ready "
            "record)."
        ),
        _("The card is printed at a service point while you wait: a few minutes per card."),
        _("Come to have it printed: take a number for card printing below."),
    ),
    KtpState.CARD_PRINTED: Advice(
        _("Your KTP-el card has been printed."),
        "",
        _(
            "If you have not received it yet, ask the Disdukcapil office that printed it when "
            "and where to collect it."
        ),
    ),
}


def _suket_note(offer: SuketOffer | None) -> str:
    if offer is None:
        return ""
    election = offer.election
    note = gettext(
        "Until your card is ready, you may ask for a Suket: a certificate from Disdukcapil that "
        "you have recorded your KTP-el. If you are on the voter list (DPT), you can vote with "
        "it on %(polling_day)s instead of the KTP-el; it is issued until %(issue_until)s and "
        "valid until %(valid_until)s. Take a number for Suket below."
    ) % {
        "polling_day": date_format(election.polling_day, "j F Y"),
        "issue_until": date_format(election.suket_issue_until, "j F Y"),
        "valid_until": date_format(election.suket_valid_until, "j F Y"),
    }
    if offer.needs_approval:
        note += " " + gettext(
            "Because you were recorded twice, a supervisor at the office must approve the Suket."
        )
    return note


# The regency/city office first, then its UPT, kecamatan offices and mobile units.
KIND_ORDER = Case(
    *(When(kind=kind, then=Value(n)) for n, kind in enumerate(ServicePoint.Kind.values)),
    default=Value(9),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class PointChoice:
    point: ServicePoint
    km: float | None  # from the resident's village centroid; None when either is unknown
    own_kecamatan: bool


def _where(point: ServicePoint) -> tuple[float, float] | None:
    """Where a point stands: its own coordinates, else its village's centroid."""
    for spot in (point, point.village):
        if spot is not None and spot.lat is not None and spot.lon is not None:
            return spot.lat, spot.lon
    return None


def _points_for_resident(resident: Resident, everywhere: bool) -> list[PointChoice]:
    """The active points a resident may choose, nearest first: those in their own kecamatan,
    then by distance from their village's centroid; mobile units, which travel to their
    visits, last. Only their regency/city's, unless ``everywhere``."""
    qs = ServicePoint.objects.filter(is_active=True).select_related("office", "village")
    if not everywhere:
        qs = qs.filter(office__region_id=resident.regency_id)
    village = resident.village
    home = (
        (village.lat, village.lon) if village.lat is not None and village.lon is not None else None
    )
    kecamatan = str(resident.village_id)[:8]
    kinds = {kind: n for n, kind in enumerate(ServicePoint.Kind.values)}
    choices = []
    for point in qs:
        spot = _where(point)
        mobile = point.kind == ServicePoint.Kind.MOBILE
        choices.append(
            PointChoice(
                point,
                haversine_km(*home, *spot) if home and spot and not mobile else None,
                not mobile and str(point.village_id or "")[:8] == kecamatan,
            )
        )
    choices.sort(
        key=lambda c: (
            c.point.kind == ServicePoint.Kind.MOBILE,
            not c.own_kecamatan,
            c.km is None,
            c.km or 0.0,
            kinds.get(c.point.kind, 9),
            c.point.name,
        )
    )
    return choices


def _default_point(
    choices: list[PointChoice], resident: Resident, wanted: set[str], asked: str
) -> ServicePoint | None:
    """The nearest point of the resident's regency/city offering the service asked for (else
    one the record calls for), else the nearest of theirs, else the nearest."""
    useful = {asked} if asked in wanted else (wanted - {Service.OTHER.value} or wanted)
    own = [c.point for c in choices if c.point.office.region_id == resident.regency_id]
    fitting = (p for p in own if useful & set(p.services))
    return next(fitting, None) or next(iter(own), None) or next((c.point for c in choices), None)


def _schedule_context(request: HttpRequest, resident: Resident) -> dict[str, Any]:
    now = clock.now()
    today = timezone.localdate(now)
    everywhere = request.GET.get("semua") == "1"
    choices = _points_for_resident(resident, everywhere)
    by_code = {c.point.code: c.point for c in choices}
    # Not yet required to hold a KTP-el: one answer, addressed to the resident, and recording
    # offered only from the day the duty begins when that day is within the booking window.
    young = resident.ktp_state in RECORDABLE_STATES and bool(recording_refusal(resident, today))
    offer = suket_offer(resident, now) if resident.ktp_state in RECORDED_STATES else None
    wanted_now = services_for_state(resident.ktp_state, suket=offer is not None)
    asked = request.GET.get("layanan", "")
    point = by_code.get(request.GET.get("tempat", "")) or _default_point(
        choices, resident, wanted_now, asked
    )
    services = [s for s in (point.services if point else []) if s in wanted_now]
    if point and not record_work_here(point, str(resident.regency_id)):
        # Another regency/city's point serves the resident for other matters only (the
        # counter closes record work only for its own residents). The busy booking path does
        # not read the point to check it again: a hand-made post gets a number the counter
        # closes as "other".
        services = [s for s in services if s == Service.OTHER]
    plans = (
        [p for p in day_plans(point, today, settings.ANTREAN_BOOKING_DAYS + 1) if p.is_open]
        if point
        else []
    )
    from_day = first_recording_day(resident, [p.day for p in plans]) if young else today
    if from_day is None:
        services = [s for s in services if s != Service.RECORDING]
    service = asked if asked in services else (services[0] if services else "")
    recording_from = ""
    if service == Service.RECORDING and from_day is not None and from_day > today:
        plans = [p for p in plans if p.day >= from_day]
        recording_from = gettext("You may take a recording number for %(day)s or later.") % {
            "day": f"{from_day:%d-%m-%Y}"
        }
    if service == Service.SUKET and offer is not None:
        # A Suket is issued only within its election's window.
        plans = [p for p in plans if p.day <= offer.election.suket_issue_until]
    chosen: date | None = None
    wanted = request.GET.get("tanggal", "")
    for plan in plans:
        if plan.day.isoformat() == wanted:
            chosen = plan.day
    sessions: list[Session] = []
    if point and plans:
        for plan in plans if chosen is None else [p for p in plans if p.day == chosen]:
            sessions = [
                s for s in sessions_ensure(service_point=point, day=plan.day) if s.ends_at > now
            ]
            if sessions or chosen is not None:
                chosen = plan.day
                break
    rooms = public_rooms(sessions, now)
    mine = list(
        Ticket.objects.filter(nik=resident.nik, day__gte=today, state__in=ACTIVE_STATES)
        .select_related("service_point")
        .order_by("day")
    )
    # A number booked elsewhere is listed without its page: its address holds its code.
    booked_here = set(_booked_here(request))
    held = (
        online_number_held(resident_id=resident.pk, service=service, from_day=today)
        if service
        else None
    )
    not_required = (
        gettext(
            "You are not yet required to hold a KTP-el: you will be from %(day)s, when you turn "
            "17 (or earlier if you marry)."
        )
        % {"day": date_format(ktp_duty_day(resident.birth_date), "j F Y")}
        if young
        else ""
    )
    return {
        "resident": resident,
        "greeting": short_name(resident.name),
        "masked_nik": mask_nik(resident.nik),
        "ktp_state": KtpState(resident.ktp_state).label,
        "not_required": not_required,
        "state_advice": None if young else STATE_ADVICE.get(resident.ktp_state),
        "suket_note": _suket_note(offer),
        "point_choices": choices,
        "point": point,
        "everywhere": everywhere,
        "services": [(s, Service(s).label) for s in services],
        "recording_refusal": recording_from,
        "service": service,
        "plans": plans,
        "day": chosen,
        # Each with the seats an online number may take now (the gate's count: on the day,
        # also the invitation seats no invitee will use).
        "sessions": [(s, rooms.get(s.pk, 0)) for s in sessions],
        "mine": mine,
        "booked_here": booked_here,
        "mine_elsewhere": any(t.pk not in booked_here for t in mine),
        # The number that a new choice moves (booked online, not yet at the gate).
        "held": held if held is not None and held.state == State.BOOKED else None,
        "held_here": held is not None and held.pk in booked_here,
    }


@require_GET
def schedule(request: HttpRequest) -> HttpResponse:
    resident = _identified(request)
    if resident is None:
        return redirect("antrean_start")
    response = render(request, "antrean/schedule.html", _schedule_context(request, resident))
    if _identity(request) != Identity.of(resident):
        _set_identity(request, response, resident)  # the record moved on: bookings follow it
    return response


@require_POST
def take(request: HttpRequest) -> HttpResponse:
    """Book the chosen session; the answer is a redirect either way (to the number's page, or
    back to the schedule with the reason), so a reload never books twice. The busy path reads
    nothing before the booking itself: the cookie names the resident and what their record
    allows, the statement that takes the seat checks the session."""
    if not _ip_allowed(request):
        return _too_many_from_address(request)
    identity = _identity(request)
    if identity is None:
        return redirect("antrean_start")
    resident_id = identity.resident_id
    # Read by hand: a Django form deep-copies its fields for every request.
    session_text, service = request.POST.get("session", ""), request.POST.get("service", "")
    if not (session_text.isdecimal() and session_text.isascii()) or service not in SERVICES:
        messages.error(request, "Pilih layanan dan sesi.")
        return _back_to_schedule(request)
    refusal = _booking_refusal(identity, service, int(session_text))
    replaces: Ticket | None = None
    if not refusal and request.POST.get("ganti"):
        replaces, refusal = _number_to_move(request, resident_id)
    if refusal:
        messages.error(request, refusal)
        return _back_to_schedule(request)
    try:
        ticket = ticket_book_online(
            session_id=int(session_text),
            service=service,
            resident_id=resident_id,
            base_url=request.build_absolute_uri("/") if settings.ANTREAN_CONFIRM_ON_COMMIT else "",
            # For this number's messages only: whoever knows a NIK knows its birth date, so
            # the box may not change the registry's consent.
            whatsapp=bool(request.POST.get("whatsapp")),
            replaces=replaces,
        )
    except QueueRefused as exc:
        messages.error(request, exc.message)
        return _back_to_schedule(request)
    if replaces is not None:
        messages.success(
            request,
            gettext("Your number %(old)s for %(when)s is given back; this is your new number.")
            % {"old": replaces.label, "when": when(replaces)},
        )
    response = _see_other(reverse("antrean_status", args=[ticket.public_code]))
    _remember_booked(request, response, ticket)
    return response


def _number_to_move(request: HttpRequest, resident_id: int) -> tuple[Ticket | None, str]:
    """The number the booking moves (``ganti``: its id), if its holder may give it back from
    here, as they may cancel it (:func:`_may_cancel`: booked in this browser, or its code
    typed); else the reason."""
    text = request.POST.get("ganti", "")
    held = (
        Ticket.objects.filter(pk=int(text), resident_id=resident_id)
        .select_related("service_point")
        .first()
        if text.isdecimal() and text.isascii()
        else None
    )
    if held is None or held.state != State.BOOKED:
        return None, gettext(
            "The number to move is no longer active, or it has already been checked in at the "
            "gate; see your numbers on this page."
        )
    if not _may_cancel(request, held, request.POST.get("kode", "")):
        return None, gettext(
            "Number %(label)s was not booked in this browser: to move it, type its 12-character "
            "code (under its QR code and in its confirmation message)."
        ) % {"label": held.label}
    return held, ""


def _booking_refusal(identity: Identity, service: str, session_id: int) -> str:
    """Why the identified resident may not book ``service`` (the page offers only the others),
    or "". An adult's booking reads nothing: the signed identity holds the facts (a Suket is
    checked against the Suket rules, :func:`suket_offer`)."""
    if service == Service.SUKET:
        return _suket_booking_refusal(identity, session_id)
    if service not in services_for_state(identity.ktp_state):
        state = KtpState(identity.ktp_state).label
        return f"Layanan ini tidak sesuai status KTP-el Anda ({state}); pilih layanan lain."
    adult = must_hold_ktp(
        birth_date=identity.birth_date,
        marital_status=identity.marital_status,
        on=timezone.localdate(clock.now()),
    )
    if service != Service.RECORDING or adult:
        return ""
    resident = Resident.objects.filter(pk=identity.resident_id).first()
    session = Session.objects.filter(pk=session_id).only("starts_at").first()
    if resident is None or session is None:
        return ""  # the booking itself says what is wrong
    return recording_refusal(resident, timezone.localdate(session.starts_at))


def _suket_booking_refusal(identity: Identity, session_id: int) -> str:
    """Why the resident may not book a Suket number in ``session_id``, or ""."""
    resident = Resident.objects.filter(pk=identity.resident_id).first()
    if resident is None:
        return ""  # the booking itself says what is wrong
    offer = suket_offer(resident, clock.now())
    if offer is None:
        return gettext(
            "A Suket is not available to you now: it is issued only to residents who have "
            "recorded their KTP-el and have no card yet, in a regency/city holding an election, "
            "until the election's Suket deadline. Choose another service."
        )
    day = Session.objects.filter(pk=session_id).values_list("day", flat=True).first()
    until = offer.election.suket_issue_until
    if day is not None and day > until:
        return gettext("A Suket is issued until %(day)s: choose an earlier day.") % {
            "day": date_format(until, "j F Y")
        }
    return ""


def _back_to_schedule(request: HttpRequest) -> HttpResponse:
    back = reverse("antrean_schedule")
    return _see_other(f"{back}?{request.GET.urlencode()}" if request.GET else back)


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303


def _see_other(url: str) -> HttpResponse:
    return HttpResponseSeeOther(url)


def _ticket_by_code(code: str) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related("service_point", "session"), public_code=code.upper()
    )


def _status_json(ticket: Ticket) -> dict[str, Any]:
    now = clock.now()
    status = ticket_status(ticket, now)
    return {
        "label": ticket.label,
        "state": ticket.state,
        "state_text": str(State(ticket.state).label),
        "ahead": status.ahead,
        "estimated": timezone.localtime(status.estimated_at).strftime("%H.%M"),
        "serving": status.now_serving,
        "counter": ticket.counter,
        "active": ticket.is_active,
    }


@require_GET
def status_page(request: HttpRequest, code: str) -> HttpResponse:
    ticket = _ticket_by_code(code)
    holder = _holder_here(request, ticket)
    cancellable = ticket.state in CANCELLABLE and holder
    booked_here = ticket.pk in _booked_here(request)
    return render(
        request,
        "antrean/status.html",
        {
            "ticket": ticket,
            "status": _status_json(ticket),
            "masked_nik": mask_nik(ticket.nik) if ticket.nik else "",
            "greeting": short_name(ticket.resident.name) if ticket.resident else "",
            "poll_ms": settings.ANTREAN_STATUS_POLL_MS,
            "cancellable": cancellable and booked_here,
            "cancel_with_code": cancellable and not booked_here,
            "prove_to_cancel": ticket.state == State.BOOKED
            and ticket.resident_id is not None
            and not holder,
        },
    )


CANCELLABLE = (State.BOOKED, State.WAITING)
PROVE_TO_CANCEL = (
    "Untuk membatalkan nomor ini, masukkan dahulu NIK dan tanggal lahir pemegang nomor "
    "di halaman antrean daring."
)
CODE_TO_CANCEL = (
    "Nomor ini tidak dipesan di peramban ini, atau kodenya tidak cocok. Untuk membatalkannya, "
    "ketik kode 12 karakter nomor ini (tertera di bawah kode QR dan di pesan konfirmasi), atau "
    "minta petugas di pintu masuk tempat layanan membatalkannya."
)


def _holder_here(request: HttpRequest, ticket: Ticket) -> bool:
    """Whether the number's holder proved NIK and date of birth in this browser."""
    return ticket.resident_id is not None and _identified_id(request) == ticket.resident_id


def _typed_code(text: str) -> str:
    return "".join(text.split()).upper()


def _may_cancel(request: HttpRequest, ticket: Ticket, typed: str = "") -> bool:
    """Only the holder, proven by NIK and date of birth in this browser, and only a number
    booked in this browser or whose code they type: the birth date is part of the NIK, so
    whoever knows a NIK passes that proof; the code is on the holder's QR and confirmation.
    (The code alone is not enough either: others see a QR on a screen or a printed slip.)"""
    code = _typed_code(typed)
    return (
        ticket.state in CANCELLABLE
        and _holder_here(request, ticket)
        and (
            ticket.pk in _booked_here(request)
            or (
                TYPED_TICKET_CODE.fullmatch(code) is not None
                and hmac.compare_digest(code, ticket.public_code)
            )
        )
    )


@require_GET
@never_cache
def status_json(request: HttpRequest, code: str) -> JsonResponse:
    return JsonResponse(_status_json(_ticket_by_code(code)))


@require_GET
def ticket_qr(request: HttpRequest, code: str) -> HttpResponse:
    ticket = _ticket_by_code(code)
    response = HttpResponse(qr_png(TICKET_QR_PREFIX + ticket.public_code, scale=6), "image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
def cancel(request: HttpRequest, code: str) -> HttpResponse:
    if not _ip_allowed(request):
        return _too_many_from_address(request)
    ticket = _ticket_by_code(code)
    return _cancel_as_holder(request, ticket, reverse("antrean_status", args=[ticket.public_code]))


@require_POST
def cancel_typed(request: HttpRequest) -> HttpResponse:
    """The schedule's form: one's own number booked elsewhere (at the gate, in another
    browser), cancelled by typing its code."""
    if not _ip_allowed(request):
        return _too_many_from_address(request)
    resident_id = _identified_id(request)
    if resident_id is None:
        return redirect("antrean_start")
    typed = _typed_code(request.POST.get("kode", ""))
    ticket = (
        Ticket.objects.filter(public_code=typed, resident_id=resident_id).first()
        if TYPED_TICKET_CODE.fullmatch(typed)
        else None
    )
    if ticket is None:
        messages.error(
            request,
            "Kode itu bukan kode nomor antrean Anda. Kode 12 karakter tertera di bawah kode QR "
            "dan di pesan konfirmasi nomor.",
        )
        return redirect("antrean_schedule")
    return _cancel_as_holder(request, ticket, reverse("antrean_schedule"))


def _cancel_as_holder(request: HttpRequest, ticket: Ticket, back: str) -> HttpResponse:
    typed = request.POST.get("kode", "")
    if ticket.state in CANCELLABLE and not _may_cancel(request, ticket, typed):
        holder = _holder_here(request, ticket)
        messages.error(request, CODE_TO_CANCEL if holder else PROVE_TO_CANCEL)
        return redirect(back)
    try:
        ticket_cancel(ticket=ticket, reason="dibatalkan pemegang nomor")
    except QueueRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("Number %(label)s for %(when)s at %(place)s is cancelled.")
            % {"label": ticket.label, "when": when(ticket), "place": ticket.service_point.name},
        )
    return redirect(back)


# Public: the board

BOARD_POLL_MIN_MS, BOARD_POLL_MAX_MS = 1_000, 60_000


def _active_point(code: str) -> ServicePoint:
    return get_object_or_404(ServicePoint, code=code, is_active=True)


@require_GET
def board(request: HttpRequest, code: str) -> HttpResponse:
    point = _active_point(code)
    try:
        poll = int(request.GET.get("interval", settings.ANTREAN_BOARD_POLL_MS))
    except ValueError:
        poll = settings.ANTREAN_BOARD_POLL_MS
    data = board_data(point, clock.now())
    return render(
        request,
        "antrean/board.html",
        {
            "point": point,
            "data": data,
            # A fixed number of rows, filled now and replaced in place by the page's script.
            "rows": data["calls"] + [None] * (LAST_CALLS - len(data["calls"])),
            # Not faster than a second: every screen's poll is a request to the server.
            "poll_ms": max(BOARD_POLL_MIN_MS, min(poll, BOARD_POLL_MAX_MS)),
        },
    )


@require_GET
@never_cache
def board_json(request: HttpRequest, code: str) -> HttpResponse:
    """The board's state; every screen polling the same point shares one answer for
    ``ANTREAN_BOARD_CACHE_SECONDS`` (one cache read instead of four queries each)."""
    seconds = settings.ANTREAN_BOARD_CACHE_SECONDS
    key = f"antrean:board:{code}"
    body = cache.get(key) if seconds > 0 else None
    if body is None:
        point = _active_point(code)
        body = json.dumps(board_data(point, clock.now()), cls=DjangoJSONEncoder)
        if seconds > 0:
            cache.set(key, body, seconds)
    return HttpResponse(body, content_type="application/json")


# Staff pages


def _point_for(request: HttpRequest, code: str, action: Action) -> ServicePoint:
    """The point named ``code`` if the user may do ``action`` there (404 outside the
    jurisdiction, 403 with the reason when the role may not)."""
    point = get_object_or_404(ServicePoint.objects.select_related("office"), code=code)
    if not point_in_jurisdiction(request.user, point):
        raise Http404("Tempat layanan tidak ditemukan di wilayah kerja Anda.")
    access.require(request.user, action, point.office.region_id)
    return point


def _may_view(user: Any, resident: Resident | None) -> bool:
    """Whether ``user`` may see ``resident`` (their name, their page)."""
    return resident is not None and access.can(user, Action.VIEW_RESIDENT, str(resident.regency_id))


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(default)


@login_required
@require_GET
def points(request: HttpRequest) -> HttpResponse:
    user = request.user
    offices = list(access.offices_for(user).filter(kind=Office.Kind.REGENCY).order_by("code"))
    if not offices and not access.can(user, Action.VIEW_REPORTS):
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    own = getattr(user, "office", None)
    wanted = request.GET.get("kantor", "")
    office = next((o for o in offices if o.code == wanted), None)
    if office is None:
        office = own if own in offices else (offices[0] if offices else None)
    today = clock.today()
    rows = []
    if office is not None:
        listed = list(
            ServicePoint.objects.filter(office=office, is_active=True)
            .select_related("office")
            .order_by(KIND_ORDER, "name")
        )
        plans = plans_many(listed, today, 1)  # a few queries whatever the number of points
        rows = [
            {
                "point": point,
                "plan": plans[point.pk, today],
                "counters": range(1, point.counters + 1),
            }
            for point in listed
        ]
    mine = getattr(user, "service_point", None)
    return render(
        request,
        "antrean/points.html",
        {
            "nav": "antrean",
            "offices": offices,
            "office": office,
            "rows": rows,
            "mine": mine,
            "may_gate": access.can(user, GATE_ACTION),
            "may_counter": access.can(user, COUNTER_ACTION),
            "today": today,
        },
    )


def _gate_context(point: ServicePoint, now: Any) -> dict[str, Any]:
    today = timezone.localdate(now)
    sessions = sessions_ensure(service_point=point, day=today)
    return {
        "nav": "antrean",
        "point": point,
        "services": [(s, Service(s).label) for s in point.services],
        "priorities": [(k, v) for k, v in Priority.choices if k],
        "sessions": sessions_today(sessions, now, public_rooms(sessions, now)),
        "room": occupancy(point, now),
        "plan": day_plans(point, today, 1)[0],
    }


def scanned_code(text: str) -> str:
    """What the gate's field received, as the check-in reads it: a code typed from a letter,
    a message or a number's page without the spaces and dashes that group its characters
    ("3F71 733B" is "3F71733B"); a scanned QR text as it came."""
    compact = "".join(text.replace("-", " ").split())
    return compact if compact.isascii() and compact.isalnum() else text.strip()


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gate(request: HttpRequest, code: str) -> HttpResponse:
    point = _point_for(request, code, GATE_ACTION)
    user = request.user
    here = reverse("antrean_gate", args=[point.code])
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "issue":
                form = forms.WalkInForm(request.POST)
                if not form.is_valid():
                    raise QueueRefused(forms.first_error(form))
                ticket = ticket_issue_walkin(
                    service_point=point,
                    service=form.cleaned_data["service"],
                    nik=form.cleaned_data["nik"],
                    priority=form.cleaned_data.get("priority") or "",
                    acting_user=user,
                )
                return redirect(f"{here}?tiket={ticket.public_code}&cetak=1")
            if action == "cancel":
                found = (
                    Ticket.objects.filter(
                        public_code=request.POST.get("code", "").upper(),
                        service_point__office=point.office,
                    )
                    .select_related("service_point__office")
                    .first()
                )
                if found is None:
                    raise QueueRefused("Nomor antrean tidak ditemukan di kantor ini.")
                reason = request.POST.get("reason", "").strip()
                if not reason:
                    raise QueueRefused(f"Tulis alasan membatalkan nomor {found.label}.")
                ticket_cancel(ticket=found, acting_user=user, reason=f"petugas: {reason}"[:200])
                messages.success(request, f"Nomor {found.label} dibatalkan; kursinya kosong lagi.")
                # The NIK stays in the form for the number the person came for instead.
                request.session[GATE_NIK_KEY] = found.nik
                return redirect(here)
            if action == "scan":
                scan = forms.ScanForm(request.POST)
                if not scan.is_valid():
                    raise QueueRefused("Pindai atau ketik kode QR.")
                text = scanned_code(scan.cleaned_data["code"])
                found = ticket_from_qr(text)
                if found is not None:
                    ticket = ticket_check_in(ticket=found, service_point=point, acting_user=user)
                else:
                    ticket = checkin_invitation(text, service_point=point, acting_user=user)
                messages.success(
                    request,
                    f"{ticket.label} masuk antrean. Silakan masuk ke ruang tunggu.",
                )
                # An invitee's number is new to them: their slip is printed as a walk-in's.
                fresh = "&cetak=1" if ticket.channel == Channel.INVITATION else ""
                return redirect(f"{here}?tiket={ticket.public_code}{fresh}")
        except QueueRefused as exc:
            messages.error(request, exc.message)
            # Shown again with what was typed, so a slip of one digit is not typed all over.
            context = _gate_context(point, clock.now())
            context["entered"] = {k: request.POST.get(k, "") for k in ("nik", "priority", "code")}
            if exc.code == "duplicate":
                # The number the NIK already holds, with its cancel button: ask the person first.
                # Another regency's number stays unseen (the refusal says only that it exists).
                held = active_ticket_of(
                    request.POST.get("nik", ""), timezone.localdate(clock.now())
                )
                if held is not None and point_in_jurisdiction(user, held.service_point):
                    context["held"] = held
                    # Booked for here and today (online, without the phone): checked in by its
                    # code, as its QR would be, with the same early and late rules.
                    context["held_checks_in"] = (
                        held.service_point_id == point.pk
                        and held.state == State.BOOKED
                        and held.day == timezone.localdate(clock.now())
                    )
            return render(request, "antrean/gate.html", context, status=400)
        return redirect(here)
    now = clock.now()
    context = _gate_context(point, now)
    if nik := request.session.pop(GATE_NIK_KEY, ""):
        context["entered"] = {"nik": nik}
    code_param = request.GET.get("tiket", "")
    if code_param:
        shown = Ticket.objects.filter(public_code=code_param.upper(), service_point=point).first()
        if shown is not None:
            context["ticket"] = shown
            context["come_back"] = shown.state == State.BOOKED
            context["print"] = request.GET.get("cetak") == "1"
    return render(request, "antrean/gate.html", context)


@login_required
@require_GET
def ticket_slip(request: HttpRequest, code: str) -> HttpResponse:
    ticket = _ticket_by_code(code)
    _point_for(request, ticket.service_point.code, GATE_ACTION)
    return render(
        request,
        "antrean/slip.html",
        {"ticket": ticket, "come_back": ticket.state == State.BOOKED, "print": True},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def counter(request: HttpRequest, code: str, number: int) -> HttpResponse:
    point = _point_for(request, code, COUNTER_ACTION)
    if not 1 <= number <= point.counters:
        raise Http404("Loket tidak ada.")
    user = request.user
    only = request.GET.get("layanan", "") or request.POST.get("layanan", "")
    services = [only] if only in point.services else []
    here = reverse("antrean_counter", args=[point.code, number])
    if only in point.services:
        here += f"?layanan={only}"
    if request.method == "POST":
        action = request.POST.get("action")
        today = clock.today()
        current = current_at_counter(point, today, number)
        try:
            if action == "call":
                ticket = ticket_call_next(
                    service_point=point, counter=number, acting_user=user, services=services
                )
                if ticket is None:
                    messages.info(request, "Tidak ada yang menunggu.")
            elif current is None:
                raise QueueRefused("Loket ini tidak sedang melayani nomor mana pun.")
            elif action == "recall":
                ticket_recall(ticket=current, acting_user=user)
            elif action == "no_show":
                ticket_no_show(ticket=current, acting_user=user)
                messages.info(request, f"{current.label} ditandai tidak hadir.")
            elif action == "transfer":
                transfer = forms.TransferForm(request.POST)
                if not transfer.is_valid():
                    raise QueueRefused("Pilih layanan tujuan.")
                ticket_transfer(
                    ticket=current, service=transfer.cleaned_data["service"], acting_user=user
                )
                messages.info(request, f"{current.label} dialihkan dan menunggu lagi.")
            elif action == "close":
                close = forms.CloseForm(request.POST)
                if not close.is_valid():
                    raise QueueRefused("Pilih hasil layanan.")
                closed = ticket_close(
                    ticket=current,
                    outcome=close.cleaned_data["outcome"],
                    note=close.cleaned_data["note"],
                    acting_user=user,
                )
                messages.success(request, f"{current.label} selesai. {closed.record}".strip())
            elif action == "nik":
                nik_form = forms.NikForm(request.POST)
                if not nik_form.is_valid():
                    raise QueueRefused("Isi NIK.")
                noted = ticket_set_nik(
                    ticket=current, nik=nik_form.cleaned_data["nik"], acting_user=user
                )
                # The NIK is noted wherever the person lives; their name only where it may be seen.
                found = noted.resident
                who = f" ({found.name})" if found and _may_view(user, found) else ""
                messages.success(request, f"NIK {noted.label} dicatat: {noted.nik}{who}.")
        except QueueRefused as exc:
            messages.error(request, exc.message)
        return redirect(here)
    now = clock.now()
    today = timezone.localdate(now)
    current = current_at_counter(point, today, number)
    line = list(waiting_line(point, today, now, services)[:10])
    may_view = _may_view(user, current.resident if current is not None else None)
    return render(
        request,
        "antrean/counter.html",
        {
            "nav": "antrean",
            "point": point,
            "number": number,
            "current": current,
            "line": line,
            "room": occupancy(point, now),
            "services": [(s, Service(s).label) for s in point.services],
            "only": only if only in point.services else "",
            "outcomes": Outcome.choices,
            "may_view_resident": may_view,
            "may_suket": may_view and access.can(user, Action.ISSUE_SUKET),
            "counters": range(1, point.counters + 1),
        },
    )


# The days a page may be asked about: far outside, a day's neighbours overflow (year 1, 9999).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _day_asked(request: HttpRequest, default: date) -> date:
    """The query's ``tanggal`` (YYYY-MM-DD, or DD-MM-YYYY as people write it) within
    FIRST_DAY..LAST_DAY, else ``default``."""
    try:
        day = parse_date(request.GET.get("tanggal", ""))
    except (DateError, ValueError):
        return default
    return day if FIRST_DAY <= day <= LAST_DAY else default


@login_required
@require_GET
def figures(request: HttpRequest, code: str) -> HttpResponse:
    point = _point_for(request, code, Action.VIEW_REPORTS)
    today = clock.today()
    day = _day_asked(request, today)
    return render(
        request,
        "antrean/figures.html",
        {
            "nav": "antrean",
            "point": point,
            "figures": day_figures(point, day),
            "day": day,
            # A day ahead has seats booked, nothing served yet.
            "ahead": day > today,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
        },
    )
