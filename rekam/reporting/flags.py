"""Compliance flags: what the province acts on when it watches its regencies/cities (R9).

Each flag counts the records that break (or put at risk) one rule of the instruction and lists
them, each with a link to the page behind it. Counts and lists come from a few grouped queries
per flag (a page of records at a time), so the dashboard answers quickly at province scale.

Who sees what is decided in ``rekam.accounts.access``: a user sees only the records of their
jurisdiction, and ``within`` (a regency/city code) narrows further. ``user=None`` is Rekam
itself (the scheduled report): no jurisdiction applies.

Titles, explanations, column headers and remarks are in the active language (source strings in
English, Indonesian from the catalog); a table's text is fixed when the table is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any, overload

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Substr
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.antrean.calendar import plans_many
from rekam.antrean.models import Session
from rekam.antrean.services import local_datetime
from rekam.elections.models import Election
from rekam.invitations.models import Invitation
from rekam.invitations.services import deadline_of
from rekam.lib.nik import mask_nik
from rekam.notifications.models import Message
from rekam.regions.models import Region
from rekam.residents.models import RecordEvent
from rekam.residents.states import KtpState
from rekam.servicepoints.models import ServicePoint
from rekam.suket.models import BlankMovement, Suket
from rekam.suket.rules import Reason
from rekam.voters.models import Voter
from rekam.web.templatetags.rekam_tags import suket_status_label

from .figures import stock_figures

_REGENCY_CODE = re.compile(r"^\d{2}\.\d{2}$")
# The invitations' outbox messages are keyed by their reference (``invitations_send``).
_INVITATION_KEY = "invitation:"
# Keys per query when looking records up by a list of keys.
_CHUNK = 1_000


@dataclass
class Flag:
    kind: str
    title: str
    rule: str
    explanation: str
    count: int


Rows = list[list[Any]]
Links = list[str | None]
Record = tuple[list[Any], str | None]  # a row and its link


class FlagTable:
    """The records behind one flag: a header, and rows read a slice at a time.

    ``len()`` and slicing make it a Paginator's object list: a page reads only its rows.
    """

    def __init__(
        self,
        *,
        kind: str,
        title: str,
        rule: str,
        explanation: str,
        header: list[str],
        count: Callable[[], int],
        fetch: Callable[[int, int | None], tuple[Rows, Links]],
    ) -> None:
        self.kind = kind
        self.title = title
        self.rule = rule
        self.explanation = explanation
        self.header = header
        self._count = count
        self._fetch = fetch
        self._total: int | None = None

    def count(self) -> int:
        if self._total is None:
            self._total = self._count()
        return self._total

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step not in (None, 1) or (index.start or 0) < 0 or (index.stop or 0) < 0:
            raise ValueError("a flag's records are read by forward slices")
        rows, links = self._fetch(index.start or 0, index.stop)
        return list(zip(rows, links, strict=True))

    def __iter__(self) -> Iterator[Record]:
        return iter(self[0:None])

    def records(self) -> tuple[list[str], Rows, Links]:
        rows, links = self._fetch(0, None)
        return list(self.header), rows, links

    def flag(self) -> Flag:
        return Flag(self.kind, self.title, self.rule, self.explanation, self.count())


@dataclass(frozen=True)
class FlagView:
    """What flags are asked for: an election, seen by a user, inside ``within``.

    What several flags read (the regencies/cities, their names and offices, the Sukets) is
    looked up once per view, so a page asks for its flags and regions through one view."""

    election: Election
    user: Any
    within: str
    today: date

    @cached_property
    def _holding(self) -> list[str]:
        """Every regency/city holding the election, by code, whoever looks."""
        codes = self.election.regions.order_by("code").values_list("code", flat=True)
        return [str(c) for c in codes]

    @cached_property
    def electing(self) -> list[str]:
        """Regencies/cities holding the election inside the user's jurisdiction, by code
        (what ``within`` may narrow to)."""
        scope = "" if self.user is None else access.region_scope(self.user)
        return [c for c in self._holding if access.in_scope(scope, c)]

    @cached_property
    def regencies(self) -> list[str]:
        """The regencies/cities holding the election that this view covers, by code."""
        return [c for c in self.electing if not self.within or c == self.within]

    @cached_property
    def names(self) -> dict[str, str]:
        """The names of :attr:`electing` by code."""
        return _region_names(self.electing)

    @cached_property
    def _offices(self) -> list[tuple[str, int, str, str]]:
        """(region, pk, code, name) of the regency/city offices of :attr:`regencies`."""
        return [
            (str(region), pk, code, name)
            for region, pk, code, name in Office.objects.filter(
                region_id__in=self.regencies
            ).values_list("region_id", "pk", "code", "name")
        ]

    @cached_property
    def offices(self) -> dict[str, tuple[str, str]]:
        """The regency/city offices' (code, name) of :attr:`regencies` by their region's code."""
        return {region: (code, name) for region, _pk, code, name in self._offices}

    def sukets(self) -> QuerySet[Suket]:
        """This election's Sukets issued by the view's offices, revoked ones too (a flag that
        asks to act on a Suket narrows to :data:`_IN_FORCE`): a flag judges the issuing office,
        so a Suket stays with it when its holder moves elsewhere (filtered without joining the
        registry, so the flags' per-Suket tests run on the view's Sukets only). As on the
        dashboard, only the regencies/cities holding the election count: the Sukets of one
        removed from it are left out here, and those still valid are flagged through
        :meth:`sukets_left_out`."""
        return self._sukets.all()

    @cached_property
    def _issued_in_jurisdiction(self) -> QuerySet[Suket]:
        """This election's Sukets issued by any office in the user's jurisdiction."""
        sukets = (
            Suket.objects.all()
            if self.user is None
            else access.sukets_issued_by_offices_for(self.user, Action.VIEW_REPORTS)
        )
        return sukets.filter(election=self.election)

    @cached_property
    def _sukets(self) -> QuerySet[Suket]:
        # The offices' ids, not a join: an office's Sukets are then read by the office's index.
        offices = [pk for _region, pk, _code, _name in self._offices]
        return self._issued_in_jurisdiction.filter(office_id__in=offices)

    def sukets_left_out(self) -> QuerySet[Suket]:
        """This election's Sukets in force and still valid whose holders' regency/city no
        longer holds the election (removed from its regions since): what :meth:`sukets` and
        the dashboard leave out. Seen by the issuing office, which must revoke them, and the
        province; ``within`` narrows to the issuing office's regency/city, which need not hold
        the election any more."""
        found = self._issued_in_jurisdiction.filter(
            _IN_FORCE, valid_until__gte=self.today, regency__isnull=False
        ).exclude(regency_id__in=self._holding)
        return found.filter(office__region_id=self.within) if self.within else found

    def regions(self) -> list[tuple[str, str]]:
        """(code, name) of the regencies/cities the user may narrow to."""
        return [(code, self.names.get(code, code)) for code in self.electing]

    def table(self, kind: str) -> FlagTable:
        """The records behind flag ``kind`` (``Http404`` for an unknown kind)."""
        make = _TABLES.get(kind)
        if make is None:
            raise Http404("Tanda kepatuhan tidak dikenal.")
        return make(self)

    def flags(self) -> list[Flag]:
        """Every flag in the order of :data:`FLAG_KINDS`, with its number of records."""
        return [_TABLES[kind](self).flag() for kind in FLAG_KINDS]

    def invitations(self) -> QuerySet[Invitation]:
        """Invitations that stand: of a real plan (not a dry run), neither cancelled nor
        replaced by a reschedule."""
        q = Q(election=self.election, run__dry_run=False) & ~Q(
            state__in=[Invitation.State.CANCELLED, Invitation.State.RESCHEDULED]
        )
        if self.user is not None:
            q &= access.scope_filter(self.user, "village__parent__parent")
        if self.within:
            q &= Q(village__parent__parent_id=self.within)
        return Invitation.objects.filter(q)


def _chunks(keys: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def _local(moment: datetime | None) -> datetime | None:
    """A time as people read it, in Asia/Jakarta (for pages and downloads alike)."""
    return None if moment is None else timezone.localtime(moment)


def _region_names(codes: Iterable[str]) -> dict[str, str]:
    return {
        code: official or name
        for code, official, name in Region.objects.filter(code__in=set(codes)).values_list(
            "code", "official_name", "name"
        )
    }


def _reason_label(code: str) -> str:
    return str(Reason(code).label) if code in Reason.values else code


def _state_label(code: str | None) -> str:
    """A KTP-el state as people read it (``SENT_FOR_ENROLLMENT`` → "Sent to the data centre")."""
    if code is None:
        return ""
    return str(KtpState(code).label) if code in KtpState.values else code


def _suket_status(s: dict[str, Any], today: date) -> str:
    """A Suket's status as its own pages show it: valid, expired or revoked."""
    return suket_status_label(
        Suket(revoked_at=s["revoked_at"], valid_until=s["valid_until"]), today
    )


def _suket_link(nik: str, election: Election) -> str:
    """Where a Suket is shown with its PDF and actions: its resident's Suket page (there is no
    page per Suket), opened on the election."""
    return f"{reverse('suket_decision', kwargs={'nik': nik})}?election={election.pk}"


# Column headers carry the context "flag column": their Indonesian (e.g. "Kabupaten/Kota",
# "Tempat layanan") differs from the same English words elsewhere in the catalog.


def _regency_column() -> str:
    return pgettext("flag column", "Regency/city")


# Sukets


# Sukets still in force. A flag that asks someone to act on a Suket (revoke one valid too long)
# reads only these; a flag about how a Suket was issued keeps the revoked ones too, with their
# status: every printed card revokes its holder's Sukets (rekam.suket.receivers), and revoking
# does not undo what happened at issuance.
_IN_FORCE = Q(revoked_at=None)


def _suket_header() -> list[str]:
    return [
        pgettext("flag column", "Suket number"),
        pgettext("flag column", "NIK"),
        pgettext("flag column", "Name"),
        _regency_column(),
        pgettext("flag column", "Issuing office"),
        pgettext("flag column", "Issued"),
        pgettext("flag column", "Valid until"),
        pgettext("flag column", "Reason"),
        pgettext("flag column", "Status"),
        pgettext("flag column", "Revoked"),
        pgettext("flag column", "Reason for revocation"),
    ]


_SUKET_FIELDS = (
    "pk",
    "number",
    "resident__nik",
    "resident__name",
    "resident__regency_id",
    "office__name",
    "issued_at",
    "valid_until",
    "reason",
    "revoked_at",
    "revoked_reason",
)


def _suket_table(
    view: FlagView,
    kind: str,
    title: str,
    rule: str,
    explanation: str,
    found: QuerySet[Suket],
    *,
    extra_header: Sequence[str] = (),
    extra_fields: Sequence[str] = (),
    extra: Callable[[dict[str, Any]], list[Any]] | None = None,
    row_annotations: dict[str, Any] | None = None,
) -> FlagTable:
    """A flag whose records are Sukets: the common columns, then the flag's own; each row links
    to the Suket's page."""

    def fetch(start: int, stop: int | None) -> tuple[Rows, Links]:
        # The page's Sukets first, then their columns: joined with the residents and annotated
        # before the sort, every Suket found would be (26,000 of them at province scale).
        ids = list(found.order_by("issued_at", "pk").values_list("pk", flat=True)[start:stop])
        listed = found.annotate(**row_annotations) if row_annotations else found
        page = []
        for chunk in _chunks(ids):
            page += listed.filter(pk__in=chunk).values(*_SUKET_FIELDS, *extra_fields)
        page.sort(key=lambda s: (s["issued_at"], s["pk"]))
        names = _region_names(s["resident__regency_id"] for s in page)
        # The flags follow the issuing office; a holder who has since moved out of the user's
        # jurisdiction is shown with a masked NIK and no link to their page.
        shown = {
            s["pk"]: view.user is None
            or access.can(view.user, Action.VIEW_RESIDENT, s["resident__regency_id"])
            for s in page
        }
        rows = [
            [
                s["number"],
                s["resident__nik"] if shown[s["pk"]] else mask_nik(s["resident__nik"]),
                s["resident__name"],
                names.get(s["resident__regency_id"], s["resident__regency_id"]),
                s["office__name"],
                _local(s["issued_at"]),
                s["valid_until"],
                _reason_label(s["reason"]),
                _suket_status(s, view.today),
                _local(s["revoked_at"]),
                s["revoked_reason"],
                *(extra(s) if extra else []),
            ]
            for s in page
        ]
        links = [
            _suket_link(s["resident__nik"], view.election) if shown[s["pk"]] else None for s in page
        ]
        return rows, links

    return FlagTable(
        kind=kind,
        title=title,
        rule=rule,
        explanation=explanation,
        header=[*_suket_header(), *extra_header],
        count=found.count,
        fetch=fetch,
    )


def _suket_prr_with_blanks(view: FlagView) -> FlagTable:
    prr = KtpState.PRINT_READY_RECORD
    before = RecordEvent.objects.filter(resident=OuterRef("resident"), at__lt=OuterRef("issued_at"))
    # PRR as the decision saw it, or by the resident's timeline (which may learn of a central
    # move after the fact): reached before issuance, with no card printed before.
    was_prr = Q(decision__inputs__ktp_state=prr) | (
        Exists(before.filter(to_state=prr)) & ~Exists(before.filter(to_state=KtpState.CARD_PRINTED))
    )
    # The issuing office's stock at issuance: the balance after its latest ledger line, read
    # only for a Suket whose resident was PRR.
    blanks_then = Case(
        When(
            was_prr,
            then=Subquery(
                BlankMovement.objects.filter(
                    office=OuterRef("office"), at__lte=OuterRef("issued_at")
                )
                .order_by("-at", "-pk")
                .values("balance_after")[:1]
            ),
        ),
        output_field=IntegerField(),
    )
    found = view.sukets().annotate(blanks_then=blanks_then).filter(blanks_then__gt=0)
    return _suket_table(
        view,
        "suket_prr_with_blanks",
        _("Suket for a PRR record while blank cards were available"),
        "R2",
        _(
            "A PRR record must be printed on the spot while blank cards are available: check "
            "whether the technical problem really occurred and print these residents' KTP-el."
        ),
        found,
        extra_header=[
            pgettext("flag column", "KTP-el state at the decision"),
            pgettext("flag column", "PRR by the timeline"),
            pgettext("flag column", "Blank cards at issuance"),
        ],
        extra_fields=("decision__inputs__ktp_state", "prr_since", "blanks_then"),
        extra=lambda s: [
            _state_label(s["decision__inputs__ktp_state"]),
            _local(s["prr_since"]),
            s["blanks_then"],
        ],
        row_annotations={
            "prr_since": Subquery(
                before.filter(to_state=prr).order_by("-at", "-pk").values("at")[:1]
            )
        },
    )


def _suket_late(view: FlagView) -> FlagTable:
    election = view.election
    issue_until, valid_until = election.suket_issue_until, election.suket_valid_until
    # Issued on a later day in Asia/Jakarta than the last day of issuance.
    late_from = local_datetime(issue_until + timedelta(days=1), time.min)
    # A late issuance stands once revoked; a validity too long matters only while in force.
    valid_long_in_force = Q(valid_until__gt=valid_until) & _IN_FORCE
    found = view.sukets().filter(Q(issued_at__gte=late_from) | valid_long_in_force)

    issued_late = _("issued after %(day)s") % {"day": f"{issue_until:%d-%m-%Y}"}
    valid_long = _("valid beyond %(day)s") % {"day": f"{valid_until:%d-%m-%Y}"}

    def breach(s: dict[str, Any]) -> list[Any]:
        parts = []
        if s["issued_at"] >= late_from:
            parts.append(issued_late)
        if s["valid_until"] > valid_until and s["revoked_at"] is None:
            parts.append(valid_long)
        return ["; ".join(parts)]

    return _suket_table(
        view,
        "suket_late",
        _("Suket outside the period of issuance or validity"),
        "R8",
        _(
            "This election's Sukets are issued only until %(issue_until)s and are valid until "
            "%(valid_until)s: check these Sukets and revoke those that are not lawful."
        )
        % {"issue_until": f"{issue_until:%d-%m-%Y}", "valid_until": f"{valid_until:%d-%m-%Y}"},
        found,
        extra_header=[pgettext("flag column", "Breach")],
        extra=breach,
    )


def _suket_no_reason(view: FlagView) -> FlagTable:
    return _suket_table(
        view,
        "suket_no_reason",
        _("Suket without a reason"),
        "R6",
        _(
            "A Suket may be issued only with a recorded reason (not PRR yet, out of blank cards "
            "or a technical problem): check on what grounds these Sukets were issued."
        ),
        view.sukets().filter(reason=""),
    )


def _suket_left_election(view: FlagView) -> FlagTable:
    return _suket_table(
        view,
        "suket_left_election",
        _("Suket for an election the holder's regency/city does not take part in"),
        "R8",
        _(
            "These Sukets are still valid, but their holder's regency/city does not take part in "
            "the election: it was removed from the election, or the holder moved there. The "
            "issuing office checks each one: it revokes a Suket whose regency/city no longer "
            "holds the election, giving that reason; a holder who moved but is still on this "
            "election's voter list keeps theirs."
        ),
        view.sukets_left_out(),
    )


# Offices: lists of a few rows per regency/city, computed once per table


def _listed(
    *,
    kind: str,
    title: str,
    rule: str,
    explanation: str,
    header: list[str],
    compute: Callable[[], tuple[Rows, Links]],
) -> FlagTable:
    cache: list[tuple[Rows, Links]] = []

    def rows() -> tuple[Rows, Links]:
        if not cache:
            cache.append(compute())
        return cache[0]

    def fetch(start: int, stop: int | None) -> tuple[Rows, Links]:
        found, links = rows()
        return found[start:stop], links[start:stop]

    return FlagTable(
        kind=kind,
        title=title,
        rule=rule,
        explanation=explanation,
        header=header,
        count=lambda: len(rows()[0]),
        fetch=fetch,
    )


def _closed_polling_day(view: FlagView) -> FlagTable:
    day = view.election.polling_day

    no_point = _("The office has no active recording service point.")

    def compute() -> tuple[Rows, Links]:
        regencies = view.regencies
        points: dict[str, list[ServicePoint]] = {code: [] for code in regencies}
        for point in ServicePoint.objects.filter(
            kind=ServicePoint.Kind.OFFICE, is_active=True, offers_recording=True
        ).select_related("office"):
            if point.regency_code in points:
                points[point.regency_code].append(point)
        listed = [p for mine in points.values() for p in mine]
        plans = plans_many(listed, day, 1) if listed else {}
        names, offices = view.names, view.offices
        rows: Rows = []
        links: Links = []
        for code in regencies:
            mine = sorted(points[code], key=lambda p: p.code)
            if any(plans[(p.pk, day)].is_open for p in mine):
                continue
            name = names.get(code, code)
            if not mine:
                rows.append([name, "", "", day, no_point])
                office = offices.get(code)
                links.append(f"{reverse('antrean_points')}?kantor={office[0]}" if office else None)
            for point in mine:
                rows.append([name, point.name, point.code, day, plans[(point.pk, day)].reason])
                links.append(
                    f"{reverse('antrean_figures', kwargs={'code': point.code})}"
                    f"?tanggal={day.isoformat()}"
                )
        return rows, links

    return _listed(
        kind="closed_polling_day",
        title=_("The office's recording service is closed on polling day"),
        rule="R1",
        explanation=_(
            "The offices of the regencies/cities holding the election keep recording open on "
            "%(day)s: open their service points on that day's calendar."
        )
        % {"day": f"{day:%d-%m-%Y}"},
        header=[
            _regency_column(),
            pgettext("flag column", "Service point"),
            pgettext("flag column", "Code"),
            pgettext("flag column", "Polling day"),
            pgettext("flag column", "Remarks"),
        ],
        compute=compute,
    )


def _stock_short(view: FlagView) -> FlagTable:
    def compute() -> tuple[Rows, Links]:
        regencies = view.regencies
        if not regencies:
            return [], []
        figures = stock_figures(regencies, view.today)
        names, offices = view.names, view.offices
        rows: Rows = []
        links: Links = []
        for code in regencies:
            office = figures[code]
            if not office.stock_short:
                continue
            office_code, office_name = offices.get(code, ("", ""))
            days = office.stock_days
            rows.append(
                [
                    names.get(code, code),
                    office_name,
                    office.blanks,
                    office.prr_backlog,
                    office.stock_short,
                    None if days is None else round(days, 1),
                ]
            )
            links.append(f"{reverse('suket_stock')}?kantor={office_code}" if office_code else None)
        return rows, links

    return _listed(
        kind="stock_short",
        title=_("Blank card stock below the PRR backlog"),
        rule="R2",
        explanation=_(
            "Every PRR record is printed on the spot, so an office's blank card stock must cover "
            "its region's PRR backlog: ask Ditjen Dukcapil for a delivery or move blank cards "
            "between offices."
        ),
        header=[
            _regency_column(),
            pgettext("flag column", "Office"),
            pgettext("flag column", "Blank cards"),
            pgettext("flag column", "PRR backlog"),
            pgettext("flag column", "Blank cards short"),
            pgettext("flag column", "Stock lasts (days)"),
        ],
        compute=compute,
    )


# Invitations


def _invitation_after_polling_day(view: FlagView) -> FlagTable:
    closed = deadline_of(view.election)
    standing = view.invitations()
    # Two sets an index leads to, rather than one pass over every invitation: those whose
    # session starts after the polls close (an invitation starts when its session does) ...
    starts_late = standing.filter(
        session__in=Session.objects.filter(starts_at__gt=closed).values("pk"),
        starts_at__gt=closed,
    )
    # ... and those whose outbox message went out after the polls closed.
    sent_late = (
        Message.objects.filter(
            template="invitation",
            idempotency_key__startswith=_INVITATION_KEY,
            sent_at__gt=closed,
        )
        .annotate(ref=Substr("idempotency_key", len(_INVITATION_KEY) + 1))
        .values("ref")
    )
    told_late = standing.filter(reference__in=sent_late)

    def found() -> QuerySet[Invitation, tuple[int, datetime]]:
        return (
            starts_late.order_by()
            .values_list("pk", "starts_at")
            .union(told_late.order_by().values_list("pk", "starts_at"))
        )

    def fetch(start: int, stop: int | None) -> tuple[Rows, Links]:
        ids = [pk for pk, _ in found().order_by("starts_at", "pk")[start:stop]]
        details = {
            i["pk"]: i
            for chunk in _chunks(ids)
            for i in Invitation.objects.filter(pk__in=chunk).values(
                "pk",
                "reference",
                "voter_id",
                "village_id",
                "service_point__name",
                "starts_at",
                "state",
                "run_id",
            )
        }
        page = [details[pk] for pk in ids]
        messages: dict[str, tuple[int, datetime | None]] = {}
        for chunk in _chunks([_INVITATION_KEY + i["reference"] for i in page]):
            messages.update(
                (key.removeprefix(_INVITATION_KEY), (pk, sent_at))
                for key, pk, sent_at in Message.objects.filter(
                    idempotency_key__in=chunk
                ).values_list("idempotency_key", "pk", "sent_at")
            )
        # The voter and village keys carry no database constraint: look them up, not join.
        voters = {
            pk: name
            for chunk in _chunks([i["voter_id"] for i in page])
            for pk, name in Voter.objects.filter(pk__in=chunk).values_list("pk", "name")
        }
        names = _region_names(code for i in page for code in (i["village_id"], i["village_id"][:5]))
        rows: Rows = []
        links: Links = []
        for i in page:
            message = messages.get(i["reference"])
            rows.append(
                [
                    i["reference"],
                    voters.get(i["voter_id"], ""),
                    names.get(i["village_id"][:5], i["village_id"][:5]),
                    names.get(i["village_id"], i["village_id"]),
                    i["service_point__name"],
                    _local(i["starts_at"]),
                    _local(message[1]) if message else None,
                    str(Invitation.State(i["state"]).label),
                ]
            )
            links.append(
                reverse("notifications:message", kwargs={"pk": message[0]})
                if message
                else reverse("invitations_run", kwargs={"pk": i["run_id"]})
            )
        return rows, links

    return FlagTable(
        kind="invitation_after_polling_day",
        title=_("Invitations after the polls have closed"),
        rule="R4",
        explanation=_(
            "Invitations whose session starts or whose message was sent after the polls closed "
            "(%(closed)s WIB) no longer help the voters: reschedule them earlier or cancel them."
        )
        % {"closed": f"{closed:%d-%m-%Y %H.%M}"},
        header=[
            pgettext("flag column", "Reference"),
            pgettext("flag column", "Name"),
            _regency_column(),
            pgettext("flag column", "Village"),
            pgettext("flag column", "Service point"),
            pgettext("flag column", "Session starts"),
            pgettext("flag column", "Message sent"),
            pgettext("flag column", "Status"),
        ],
        count=lambda: found().count(),
        fetch=fetch,
    )


_TABLES: dict[str, Callable[[FlagView], FlagTable]] = {
    "suket_prr_with_blanks": _suket_prr_with_blanks,
    "suket_late": _suket_late,
    "suket_no_reason": _suket_no_reason,
    "suket_left_election": _suket_left_election,
    "closed_polling_day": _closed_polling_day,
    "stock_short": _stock_short,
    "invitation_after_polling_day": _invitation_after_polling_day,
}
# Every flag, in the order pages and reports show them.
FLAG_KINDS: tuple[str, ...] = tuple(_TABLES)


def flag_view(
    election: Election, user: Any, *, within: str = "", today: date | None = None
) -> FlagView:
    """The flags of ``election`` as ``user`` sees them inside ``within`` (a regency/city code);
    refused outside the user's jurisdiction."""
    if within and not _REGENCY_CODE.match(within):
        raise ValueError(f"flags narrow to a regency/city code, not {within!r}")
    if user is not None:
        access.require(user, Action.VIEW_REPORTS, within or None)
    return FlagView(election, user, within, today or timezone.localdate())


def flag_table(
    election: Election, user: Any, kind: str, *, within: str = "", today: date | None = None
) -> FlagTable:
    """The records behind flag ``kind`` (``Http404`` for an unknown kind), read a slice at a
    time; refused outside the user's jurisdiction."""
    return flag_view(election, user, within=within, today=today).table(kind)


def flags_for(
    election: Election, user: Any, *, within: str = "", today: date | None = None
) -> list[Flag]:
    """Every flag of ``election`` in the order of :data:`FLAG_KINDS`, with the number of
    records behind it (0 when clear) inside the user's jurisdiction and ``within``."""
    return flag_view(election, user, within=within, today=today).flags()


def flag_records(
    election: Election, user: Any, kind: str, *, within: str = "", today: date | None = None
) -> tuple[list[str], list[list[Any]], list[str | None]]:
    """Header, rows (plain values, for exports) and per row a link to the record (or None)."""
    return flag_table(election, user, kind, within=within, today=today).records()


def flag_regions(election: Election, user: Any) -> list[tuple[str, str]]:
    """(code, name) of the regencies/cities holding ``election`` that ``user`` may narrow to."""
    return flag_view(election, user).regions()
