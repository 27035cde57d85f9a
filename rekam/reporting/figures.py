"""The figures of the province dashboard: one row per region, computed in a few grouped queries.

The province sees one row per regency/city holding the election, a regency/city one row per
kecamatan, a kecamatan one row per village. Voter figures come from the counts the events keep
(``VoterStateCount``, ``VoterDay``) and the latest reconciliation (``WorklistCount``); Sukets,
invitations, blank stock and queue figures are grouped from their own tables. Kemendagri codes
nest by prefix (``18.71`` > ``18.71.01`` > ``18.71.01.1001``), so figures grouped per village roll
up to any level by cutting the code.

Every page, export, picture and report reads :func:`dashboard`, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.antrean.calendar import holiday_name, plans_many
from rekam.antrean.models import State as TicketState
from rekam.antrean.models import Ticket, TicketEvent
from rekam.elections.models import Election
from rekam.invitations.models import Invitation
from rekam.regions.models import Region
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.servicepoints.models import ServicePoint
from rekam.suket.models import BlankStock, Suket
from rekam.suket.stock import USE_WINDOW_DAYS, blanks_used, days_of_stock, used_per_day
from rekam.voters.models import ReconciliationRun, VoterClass, WorklistCount

from .models import VoterDay, VoterStateCount

# Days of queue figures shown. (The blank-card use rate, and so the days of stock, has its one
# window in rekam.suket.stock.USE_WINDOW_DAYS.)
RATE_DAYS = 7
# Days the progress chart shows, ending today.
CHART_DAYS = 14
# Days before polling day in which openings on holidays are counted.
HOLIDAY_WINDOW_DAYS = 45

# Which column of a row each KTP-el state of a voter counts in ("" = matched to no resident).
STATE_COLUMN: dict[str, str] = {
    KtpState.BELUM_REKAM: "unrecorded_now",
    KtpState.BIO_CAPTURED: "dedup_waiting",
    KtpState.SENT_FOR_ENROLLMENT: "dedup_waiting",
    KtpState.RECEIVED_AT_CENTRAL: "dedup_waiting",
    KtpState.ADJUDICATE_RECORD: "dedup_waiting",
    KtpState.ENROLL_FAILURE: "record_again",
    KtpState.SEARCH_FAILURE: "record_again",
    KtpState.DUPLICATE_RECORD: "duplicates",
    KtpState.PRINT_READY_RECORD: "prr",
    KtpState.CARD_PRINTED: "printed",
    "": "unmatched",
}
_CHILD_LEVEL = {0: "regency", 2: "district", 3: "village"}
_CODE_LENGTH = {"regency": 5, "district": 8}


def _parts(code: str) -> int:
    return 0 if not code or "." not in code else code.count(".") + 1


@dataclass
class OfficeFigures:
    """What a regency/city office has and does: stock, printing, service points, the queue."""

    blanks: int = 0
    prr_backlog: int = 0  # residents (voters or not) whose card is waiting for a blank
    # Blanks printed on or spoiled lately (rekam.suket.stock.blanks_used, USE_WINDOW_DAYS days).
    blanks_used_recently: int = 0
    points: int = 0
    open_polling_day: int = 0
    office_open_polling_day: bool = False  # the regency/city office itself (R1)
    holiday_openings: int = 0  # point-days open on a public holiday before polling day
    queue_served: int = 0
    wait_minutes: float | None = None
    service_minutes: float | None = None
    most_inside: int = 0

    # For a sum of offices: the shortfalls of those short (one office's spare blanks do not
    # print another's backlog) and the fewest days of stock left.
    summed_short: int | None = None
    fewest_days: float | None = None

    @property
    def is_sum(self) -> bool:
        """Whether these are several offices' figures added up (days of stock: the fewest)."""
        return self.summed_short is not None

    @property
    def blanks_used_per_day(self) -> float:
        return used_per_day(self.blanks_used_recently)

    @property
    def stock_days(self) -> float | None:
        """Days the blanks last at the recent use: 0 without blanks, ``None`` when none were
        used lately."""
        if self.is_sum:
            return self.fewest_days
        return days_of_stock(self.blanks, self.blanks_used_recently)

    @property
    def stock_short(self) -> int:
        """Blank cards missing to print the PRR backlog (0 when the stock covers it)."""
        if self.summed_short is not None:
            return self.summed_short
        return max(0, self.prr_backlog - self.blanks)

    def add(self, other: OfficeFigures) -> None:
        """Add one office's figures to this sum of offices."""
        short, days = self.stock_short if self.summed_short is not None else 0, other.stock_days
        self.summed_short = short + other.stock_short
        if days is not None:
            self.fewest_days = days if self.fewest_days is None else min(self.fewest_days, days)
        waits = [(self.wait_minutes, self.queue_served), (other.wait_minutes, other.queue_served)]
        services = [
            (self.service_minutes, self.queue_served),
            (other.service_minutes, other.queue_served),
        ]
        self.wait_minutes = _weighted(waits)
        self.service_minutes = _weighted(services)
        for name in (
            "blanks",
            "prr_backlog",
            "blanks_used_recently",
            "points",
            "open_polling_day",
            "holiday_openings",
            "queue_served",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.most_inside = max(self.most_inside, other.most_inside)
        self.office_open_polling_day = (
            self.office_open_polling_day and other.office_open_polling_day
        )


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    known = [(v, n) for v, n in pairs if v is not None and n]
    total = sum(n for _, n in known)
    return sum(v * n for v, n in known) / total if total else None


@dataclass
class Row:
    """One region's figures for an election."""

    code: str
    name: str
    # The voter list at the latest reconciliation.
    voters: int = 0
    unrecorded_at_run: int = 0
    first_time: int = 0
    # The same voters now, by their record's state.
    unrecorded_now: int = 0
    dedup_waiting: int = 0
    record_again: int = 0
    duplicates: int = 0
    prr: int = 0
    printed: int = 0
    unmatched: int = 0  # not in the registry or NIK invalid
    # Sukets of this election to residents of the region.
    sukets_issued: int = 0
    sukets_valid: int = 0
    sukets_revoked: int = 0
    sukets_expiring: int = 0  # valid now, but not on polling day
    # Invitations.
    invited: int = 0
    attended: int = 0
    no_shows: int = 0
    # Regency/city rows (and the total) only.
    office: OfficeFigures | None = None

    @property
    def recorded_since(self) -> int:
        """Voters unrecorded at the reconciliation who have recorded since."""
        return max(0, self.unrecorded_at_run - self.unrecorded_now)

    @property
    def unrecorded_share(self) -> float | None:
        """Share of the region's voters still unrecorded now (what the map colours)."""
        return self.unrecorded_now / self.voters if self.voters else None

    @property
    def without_card(self) -> int:
        """Matched voters whose card is not printed yet."""
        return (
            self.unrecorded_now
            + self.dedup_waiting
            + self.record_again
            + self.duplicates
            + (self.prr)
        )

    def add(self, other: Row) -> None:
        for f in fields(self):
            if f.name in ("code", "name", "office"):
                continue
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        if other.office is not None:
            if self.office is None:
                self.office = OfficeFigures(office_open_polling_day=True)
            self.office.add(other.office)


@dataclass
class DayProgress:
    day: date
    recorded: int
    printed: int


@dataclass
class Dashboard:
    election: Election
    within: str  # "" for the province, else a regency/city or kecamatan code
    within_name: str
    level: str  # of the rows: "regency", "district" or "village"
    rows: list[Row]
    total: Row
    today: date
    last_run: ReconciliationRun | None
    progress: list[DayProgress] = field(default_factory=list)
    trail: list[tuple[str, str]] = field(default_factory=list)  # (code, name) above ``within``
    # Below the province: the regency/city office's own figures (its rows are kecamatan).
    office: OfficeFigures | None = None

    @property
    def days_left(self) -> int:
        """Days to polling day (0 on the day itself)."""
        return max(0, (self.election.polling_day - self.today).days)

    @property
    def service_days_left(self) -> int:
        """Days with service left, today and polling day included (R1: open on polling day)."""
        return max(0, (self.election.polling_day - self.today).days + 1)

    @property
    def polling_passed(self) -> bool:
        return self.today > self.election.polling_day

    @property
    def needed_recorded_per_day(self) -> float | None:
        """Recordings a day to finish by polling day (``None`` once it has passed)."""
        days = self.service_days_left
        return self.total.unrecorded_now / days if days else None

    @property
    def needed_printed_per_day(self) -> float | None:
        days = self.service_days_left
        return self.total.without_card / days if days else None

    @property
    def has_offices(self) -> bool:
        return self.level == "regency"


def default_within(user: Any) -> str:
    """Where a user's dashboard starts: the province, or their own regency/city."""
    scope = access.region_scope(user)
    if scope is None:
        return ""
    return "" if access.sees_province(user) else scope


def dashboard(
    election: Election, user: Any, *, within: str | None = None, today: date | None = None
) -> Dashboard:
    """The figures of ``election`` inside ``within`` (default: the user's whole jurisdiction),
    one row per region a level below; refused outside the user's jurisdiction.

    ``user=None`` is Rekam itself (the scheduled report): no jurisdiction applies."""
    if user is not None:
        within = default_within(user) if within is None else within
        access.require(user, Action.VIEW_REPORTS, within or None)
        if not within and not access.sees_province(user):
            raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    within = within or ""
    today = today or timezone.localdate()
    level = _CHILD_LEVEL.get(_parts(within))
    if level is None:
        raise ValueError(f"no drill-down below {within!r}")
    electing = list(election.regions.order_by("code").values_list("code", flat=True))
    regencies = [c for c in electing if not within or c == within[:5]]
    children = _children(level, within, regencies)
    rows = {code: Row(code=code, name=name) for code, name in children}
    key = _keyer(level)

    _voter_figures(election, within, regencies, level, rows)
    _suket_figures(election, within, regencies, today, rows, key)
    _invitation_figures(election, within, children, level, rows, key)
    if level == "regency":
        offices = office_figures(election, regencies, today)
        for code, row in rows.items():
            row.office = offices.get(code, OfficeFigures())

    ordered = [rows[c] for c, _name in children]
    total = Row(code=within, name="")
    if level == "regency":
        total.office = OfficeFigures(office_open_polling_day=True)
    for row in ordered:
        total.add(row)
    office = total.office
    if level != "regency" and within[:5] in regencies:
        office = office_figures(election, [within[:5]], today)[within[:5]]
    return Dashboard(
        election=election,
        within=within,
        within_name=_name(within),
        level=level,
        rows=ordered,
        total=total,
        today=today,
        last_run=ReconciliationRun.objects.filter(
            election=election, status=ReconciliationRun.Status.DONE
        )
        .order_by("-finished_at")
        .first(),
        progress=_progress(election, within, regencies, today),
        trail=_trail(within),
        office=office,
    )


def _name(code: str) -> str:
    if not code:
        return "Provinsi"
    return Region.objects.filter(code=code).values_list("name", flat=True).first() or code


def _trail(within: str) -> list[tuple[str, str]]:
    codes = [within[:5]] if _parts(within) == 3 else []
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [(c, names.get(c, c)) for c in codes]


def _children(level: str, within: str, regencies: list[str]) -> list[tuple[str, str]]:
    q = Q(code__in=regencies) if level == "regency" else Q(parent_id=within)
    return list(Region.objects.filter(q, level=level).order_by("code").values_list("code", "name"))


def _keyer(level: str) -> Any:
    """Cuts a village code to the code of the row it counts in."""
    length = _CODE_LENGTH.get(level)
    return (lambda code: code[:length]) if length else (lambda code: code)


def _region_q(within: str, regencies: list[str], prefix: str = "") -> Q:
    """Rows with ``regency``/``district``/``village`` columns inside ``within``."""
    parts = _parts(within)
    if parts == 0:
        return Q(**{f"{prefix}regency_id__in": regencies})
    if parts == 2:
        return Q(**{f"{prefix}regency_id": within})
    return Q(**{f"{prefix}regency_id": within[:5], f"{prefix}district_id": within})


def _voter_figures(
    election: Election, within: str, regencies: list[str], level: str, rows: dict[str, Row]
) -> None:
    group = f"{level}_id"
    where = Q(election=election) & _region_q(within, regencies)
    snapshot = (
        WorklistCount.objects.filter(where, voters__gt=0)
        .values(group)
        .annotate(
            n=Sum("voters"),
            unrecorded=Sum("voters", filter=Q(klass=VoterClass.NOT_RECORDED)),
            first=Sum("voters", filter=Q(first_time=True)),
        )
        .order_by()
    )
    for item in snapshot:
        row = rows.get(item[group])
        if row is not None:
            row.voters = int(item["n"] or 0)
            row.unrecorded_at_run = int(item["unrecorded"] or 0)
            row.first_time = int(item["first"] or 0)
    now = (
        VoterStateCount.objects.filter(where)
        .values(group, "ktp_state")
        .annotate(n=Sum("voters"))
        .order_by()
    )
    for item in now:
        row = rows.get(item[group])
        column = STATE_COLUMN.get(item["ktp_state"])
        if row is not None and column:
            setattr(row, column, getattr(row, column) + int(item["n"] or 0))


def _suket_figures(
    election: Election,
    within: str,
    regencies: list[str],
    today: date,
    rows: dict[str, Row],
    key: Any,
) -> None:
    # The village and regency/city kept on the Suket: no join with the registry.
    q = Q(election=election, regency_id__in=[within[:5]] if within else regencies)
    valid = Q(revoked_at__isnull=True, valid_until__gte=today)
    data = (
        Suket.objects.filter(q)
        .values("village_id")
        .annotate(
            issued=Count("id"),
            valid=Count("id", filter=valid),
            revoked=Count("id", filter=Q(revoked_at__isnull=False)),
            expiring=Count("id", filter=valid & Q(valid_until__lt=election.polling_day)),
        )
        .order_by()
    )
    for item in data:
        row = rows.get(key(item["village_id"]))
        if row is not None:
            row.sukets_issued += item["issued"]
            row.sukets_valid += item["valid"]
            row.sukets_revoked += item["revoked"]
            row.sukets_expiring += item["expiring"]


def _invitation_figures(
    election: Election,
    within: str,
    children: list[tuple[str, str]],
    level: str,
    rows: dict[str, Row],
    key: Any,
) -> None:
    # People, as the follow-up page counts them (``counts_by_village``): invited are the first
    # invitations, all sent, also those cancelled since (the invitee recorded elsewhere); a
    # reschedule or a re-invitation after a no-show replaces one;
    # attended and no-shows are the people whose latest invitation, replaced by none, was
    # attended or missed (the no-shows are its home-visit list). Counted per village and state
    # from the (election, village, state) index alone, then corrected by the few replacements.
    # Every invitation is of a sent plan: a preview (dry run) writes none.
    q = Q(election=election)
    if level == "village":
        q &= Q(village_id__in=[c for c, _name in children])
    elif within:
        q &= Q(village_id__in=_villages_of(within))
    invited: Counter[str] = Counter()
    latest: Counter[tuple[str, str]] = Counter()
    for village, state, n in _per_village_and_state(Invitation.objects.filter(q)):
        invited[village] += n
        latest[(village, state)] += n
    # A replacement is of the same voter, so in the same village as the invitation it replaces.
    # The replaced one's state is looked up by primary key per replacement: as a join,
    # PostgreSQL hashed the whole table for it (60-160 ms at scale 1, against 33 ms).
    replaced_state = Subquery(
        Invitation.objects.filter(pk=OuterRef("replaces_id")).order_by().values("state")[:1]
    )
    for village, replaced, n in (
        Invitation.objects.filter(q, replaces__isnull=False)
        .annotate(replaced_state=replaced_state)
        .values("village_id", "replaced_state")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("village_id", "replaced_state", "n")
    ):
        invited[village] -= n
        latest[(village, replaced)] -= n
    for village, n in invited.items():
        row = rows.get(key(village))
        if row is not None:
            row.invited += n
    for (village, state), n in latest.items():
        row = rows.get(key(village))
        if row is None:
            continue
        if state == Invitation.State.ATTENDED:
            row.attended += n
        elif state == Invitation.State.NO_SHOW:
            row.no_shows += n


def _villages_of(regency: str) -> list[str]:
    return list(
        Region.objects.filter(level="village", parent__parent_id=regency).values_list(
            "code", flat=True
        )
    )


def _per_village_and_state(invitations: QuerySet[Invitation]) -> Iterable[tuple[str, str, int]]:
    # COUNT(*), not of a column: nothing to read beyond the index.
    return (
        invitations.values("village_id", "state")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("village_id", "state", "n")
    )


def office_figures(
    election: Election, regencies: Iterable[str], today: date
) -> dict[str, OfficeFigures]:
    """Stock, printing, service points and queue figures per regency/city code."""
    codes = list(regencies)
    out = stock_figures(codes, today)
    points = [
        p
        for p in ServicePoint.objects.filter(is_active=True, offers_recording=True).select_related(
            "office"
        )
        if p.regency_code in out
    ]
    _calendar_figures(election, points, out, today)
    _queue_figures(points, out, today)
    return out


def stock_figures(regencies: Iterable[str], today: date) -> dict[str, OfficeFigures]:
    """Only the blank stock, the PRR backlog and the recent printing per regency/city code
    (what the days of stock and the shortfall are computed from)."""
    codes = list(regencies)
    out = {code: OfficeFigures() for code in codes}
    for code, balance in BlankStock.objects.filter(office__region_id__in=codes).values_list(
        "office__region_id", "balance"
    ):
        out[code].blanks = balance
    for code, n in (
        Resident.objects.filter(regency_id__in=codes, ktp_state=KtpState.PRINT_READY_RECORD)
        .values("regency_id")
        # COUNT(*): answered from the (regency, state) index alone; counting a column made
        # PostgreSQL read 200,000 rows from the table at province scale (0.8-1.9 s vs 65 ms).
        .annotate(n=Count("*"))
        .order_by()
        .values_list("regency_id", "n")
    ):
        out[code].prr_backlog = n
    # Blanks printed on or spoiled, as the stock page counts them (one definition).
    for code, used in blanks_used(codes, today).items():
        out[code].blanks_used_recently = used
    return out


def _calendar_figures(
    election: Election, points: list[ServicePoint], out: dict[str, OfficeFigures], today: date
) -> None:
    polling = election.polling_day
    start = polling - timedelta(days=HOLIDAY_WINDOW_DAYS)
    holidays = [
        start + timedelta(days=n)
        for n in range(HOLIDAY_WINDOW_DAYS)
        if holiday_name(start + timedelta(days=n))
    ]
    # Only the days that matter: a plan of every point on every day of the window costs more
    # than the rest of the page.
    plans = {}
    for day in (*holidays, polling):
        plans.update(plans_many(points, day, 1))
    for point in points:
        figures = out[point.regency_code]
        figures.points += 1
        if plans[(point.pk, polling)].is_open:
            figures.open_polling_day += 1
            if point.kind == ServicePoint.Kind.OFFICE:
                figures.office_open_polling_day = True
        figures.holiday_openings += sum(1 for day in holidays if plans[(point.pk, day)].is_open)


# Each ticket inside gives two edges, +1 at check-in and -1 at closing (closings first at the
# same moment), read in one pass over the tickets; the running sum per point and day is the
# number inside.
_MOST_INSIDE_SQL = """
WITH edges AS (
    SELECT service_point_id AS p, day, CASE WHEN e.step = 1 THEN checked_in_at ELSE closed_at END
        AS t, e.step
    FROM {tickets} CROSS JOIN (SELECT 1 AS step UNION ALL SELECT -1) e
    WHERE service_point_id IN ({points}) AND day >= %s AND day <= %s
        AND checked_in_at IS NOT NULL AND state <> %s AND (e.step = 1 OR closed_at IS NOT NULL)
), running AS (
    SELECT p, sum(step) OVER (PARTITION BY p, day ORDER BY t, step ROWS UNBOUNDED PRECEDING) AS n
    FROM edges
)
SELECT p, max(n) FROM running GROUP BY p
"""


def _queue_figures(points: list[ServicePoint], out: dict[str, OfficeFigures], today: date) -> None:
    """Served numbers, mean wait (arrival to first call) and service (last call to close) in
    minutes and the most people inside at once, over the last RATE_DAYS days."""
    if not points:
        return
    region_of = {p.pk: p.regency_code for p in points}
    start = today - timedelta(days=RATE_DAYS - 1)
    tickets = Ticket.objects.filter(service_point_id__in=list(region_of), day__range=(start, today))
    # As the queue's own figures (rekam.antrean.figures): the wait runs from arrival to the
    # first call (a recall or a transfer does not lengthen it), the service from the last call.
    first_call = Subquery(
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=TicketEvent.Kind.CALLED)
        .order_by("at")
        .values("at")[:1]
    )
    waited = ExpressionWrapper(F("first_call") - F("checked_in_at"), output_field=DurationField())
    served = ExpressionWrapper(F("closed_at") - F("called_at"), output_field=DurationField())
    totals: dict[str, dict[str, Any]] = defaultdict(dict)
    for item in (
        tickets.filter(state=TicketState.DONE, called_at__isnull=False)
        .values("service_point_id")
        .annotate(n=Count("id"), service=Sum(served))
        .order_by()
    ):
        slot = totals[region_of[item["service_point_id"]]]
        slot["n"] = slot.get("n", 0) + item["n"]
        slot["service"] = slot.get("service", timedelta()) + (item["service"] or timedelta())
    for point_id, n, wait in (
        tickets.filter(called_at__isnull=False, checked_in_at__isnull=False)
        .annotate(first_call=first_call)
        .filter(first_call__isnull=False)
        .values("service_point_id")
        .annotate(n=Count("id"), wait=Sum(waited))
        .order_by()
        .values_list("service_point_id", "n", "wait")
    ):
        slot = totals[region_of[point_id]]
        slot["called"] = slot.get("called", 0) + n
        slot["wait"] = slot.get("wait", timedelta()) + (wait or timedelta())
    for code, slot in totals.items():
        figures = out[code]
        figures.queue_served = slot.get("n", 0)
        if slot.get("n"):
            figures.service_minutes = slot["service"].total_seconds() / 60 / slot["n"]
        if slot.get("called"):
            figures.wait_minutes = slot["wait"].total_seconds() / 60 / slot["called"]
    marks = ", ".join(["%s"] * len(region_of))
    sql = _MOST_INSIDE_SQL.format(tickets=Ticket._meta.db_table, points=marks)
    ids = list(region_of)
    args: list[Any] = [*ids, start, today, str(TicketState.CANCELLED)]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        for point_id, n in cursor.fetchall():
            figures = out[region_of[point_id]]
            figures.most_inside = max(figures.most_inside, int(n or 0))


def _progress(
    election: Election, within: str, regencies: list[str], today: date
) -> list[DayProgress]:
    start = today - timedelta(days=CHART_DAYS - 1)
    data = {
        item["day"]: item
        for item in VoterDay.objects.filter(
            Q(election=election, day__range=(start, today)) & _region_q(within, regencies)
        )
        .values("day")
        .annotate(recorded=Sum("recorded"), printed=Sum("printed"))
        .order_by()
    }
    days = [start + timedelta(days=n) for n in range(CHART_DAYS)]
    return [
        DayProgress(
            day,
            int(data[day]["recorded"] or 0) if day in data else 0,
            int(data[day]["printed"] or 0) if day in data else 0,
        )
        for day in days
    ]


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the dashboard's tables and exports."""

    key: str
    label: Any  # lazily translated
    group: str  # "voters", "sukets" or "offices" (regency/city rows only)
    kind: str = "count"  # "count", "share", "minutes", "days" or "yes_no"


def _blanks_used_per_day_label() -> str:
    return _("Blank cards used at the office per day (%(days)s days)") % {"days": USE_WINDOW_DAYS}


COLUMNS: tuple[Column, ...] = (
    Column("voters", _("Voters (DPT)"), "voters"),
    Column("unrecorded_at_run", _("Not recorded at reconciliation"), "voters"),
    Column("unrecorded_now", _("Not recorded now"), "voters"),
    Column("unrecorded_share", _("Share not recorded"), "voters", "share"),
    Column("recorded_since", _("Recorded since"), "voters"),
    Column("dedup_waiting", _("Waiting for deduplication"), "voters"),
    Column("record_again", _("To record again"), "voters"),
    Column("duplicates", _("Duplicate records"), "voters"),
    Column("prr", _("PRR, not printed"), "voters"),
    Column("printed", _("Cards printed"), "voters"),
    Column("unmatched", _("Not in the registry or NIK invalid"), "voters"),
    Column("first_time", _("First-time voters"), "voters"),
    Column("sukets_issued", _("Sukets issued"), "sukets"),
    Column("sukets_valid", _("Sukets valid"), "sukets"),
    Column("sukets_revoked", _("Sukets revoked"), "sukets"),
    Column("sukets_expiring", _("Sukets expiring before polling day"), "sukets"),
    Column("invited", _("Invitations sent"), "sukets"),
    Column("attended", _("Invitations attended"), "sukets"),
    Column("no_shows", _("Invitation no-shows"), "sukets"),
    Column("blanks", _("Blank cards in stock"), "offices"),
    Column("prr_backlog", _("PRR backlog (all residents)"), "offices"),
    # The office's own blank cards, not the voters' cards printed (the progress chart, which
    # counts SIAK status reports too).
    Column("blanks_used_per_day", lazy(_blanks_used_per_day_label, str)(), "offices", "rate"),
    Column("stock_days", _("Days of stock left"), "offices", "days"),
    Column("stock_short", _("Blank cards short of the backlog"), "offices"),
    Column("points", _("Recording service points"), "offices"),
    Column("open_polling_day", _("Open on polling day"), "offices"),
    Column("holiday_openings", _("Openings on holidays"), "offices"),
    Column("queue_served", _("Queue numbers served (7 days)"), "offices"),
    Column("wait_minutes", _("Mean wait (minutes)"), "offices", "minutes"),
    Column("service_minutes", _("Mean service (minutes)"), "offices", "minutes"),
    Column("most_inside", _("Most people inside at once"), "offices"),
)
_ROW_VALUES = {c.key for c in COLUMNS if c.group != "offices"}


def column_value(row: Row, column: Column) -> Any:
    if column.key in _ROW_VALUES:
        return getattr(row, column.key)
    return getattr(row.office, column.key) if row.office is not None else None


def columns_for(dash: Dashboard) -> list[Column]:
    """The columns a dashboard's level has (office figures at regency/city level only)."""
    return [c for c in COLUMNS if dash.has_offices or c.group != "offices"]


def district_shares(
    election: Election, within: str, regencies: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """Voters not recorded now and voters, per kecamatan inside ``within`` (the map's data)."""
    codes = list(regencies)
    where = Q(election=election) & _region_q(within[:5] if within else "", codes)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for district, state, n in (
        VoterStateCount.objects.filter(where)
        .values("district_id", "ktp_state")
        .annotate(n=Sum("voters"))
        .order_by()
        .values_list("district_id", "ktp_state", "n")
    ):
        out[district][1] += int(n or 0)
        if state == KtpState.BELUM_REKAM:
            out[district][0] += int(n or 0)
    for code in Region.objects.filter(
        level="district", parent_id__in=[within[:5]] if within else codes
    ).values_list("code", flat=True):
        out.setdefault(code, [0, 0])
    return {code: (u, v) for code, (u, v) in sorted(out.items())}
