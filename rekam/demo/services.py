"""The demo's service points and staff accounts (idempotent: a re-run updates, never duplicates)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction

from rekam.accounts.access import Action, require
from rekam.accounts.models import Office, Role, User
from rekam.accounts.services import user_create
from rekam.audit.services import audit_record, diff_fields
from rekam.regions.models import Level, Region
from rekam.servicepoints.models import HolidayOpening, ServicePoint
from rekam.servicepoints.services import opening_hours_set

from .population import census_2010_district_weights

# Printed with the logins; it protects nothing but the demo data.
DEMO_PASSWORD = "rekam-demo-2020"

# The kecamatan that is the seat (ibu kota) of each regency/city's government: the demo puts the
# regency/city office there. A regency missing here gets the kecamatan nearest its centroid.
SEATS = {
    "18.01": "18.01.06",  # Kalianda
    "18.02": "18.02.04",  # Gunung Sugih
    "18.03": "18.03.02",  # Kotabumi
    "18.04": "18.04.04",  # Balik Bukit (Liwa)
    "18.05": "18.05.02",  # Menggala
    "18.06": "18.06.01",  # Kota Agung
    "18.07": "18.07.01",  # Sukadana
    "18.08": "18.08.01",  # Blambangan Umpu
    "18.09": "18.09.01",  # Gedong Tataan
    "18.10": "18.10.01",  # Pringsewu
    "18.12": "18.12.01",  # Tulang Bawang Tengah (Panaragan)
    "18.13": "18.13.01",  # Pesisir Tengah (Krui)
    "18.71": "18.71.09",  # Telukbetung Utara
    "18.72": "18.72.01",  # Metro Pusat
}
OFFICE_COUNTERS = 5
KECAMATAN_COUNTERS = 2
UPT_COUNTERS = 3
UPT_PER_REGION = 2
MOBILE_PER_REGION = 2
# The queue's reference capacities (the Invitations benchmark plans against them): hourly
# sessions, 10 minutes per recording, at most 20 people per session, open 08:00-16:00 every day
# and on holidays in the run-up to polling day.
QUEUE_SETTINGS = {
    "session_minutes": 60,
    "service_minutes": 10,
    "protocol_percent": 100,
    "waiting_room_limit": 20,
    "holiday_opening": HolidayOpening.RUN_UP,
}
DEMO_HOURS = {weekday: (time(8, 0), time(16, 0)) for weekday in range(7)}


def _distance(a: Region, lat: float | None, lon: float | None) -> float:
    if a.lat is None or a.lon is None or lat is None or lon is None:
        return math.inf
    return (a.lat - lat) ** 2 + ((a.lon - lon) * math.cos(math.radians(lat))) ** 2


def _nearest(regions: Iterable[Region], lat: float | None, lon: float | None) -> Region:
    """The region whose centroid is nearest the point (the first one when nothing is known)."""
    return min(regions, key=lambda r: (_distance(r, lat, lon), r.code))


def _ensure_point(
    *, code: str, office: Office, kind: str, name: str, village: Region, district: Region,
    counters: int, acting_user: Any,
) -> ServicePoint:  # fmt: skip
    kind_word = "Kelurahan" if village.kind == "kelurahan" else "Desa"
    values = {
        "office": office,
        "kind": kind,
        "name": name,
        "village": village,
        "address": f"{kind_word} {village.name}, Kecamatan {district.name}",
        "lat": village.lat,
        "lon": village.lon,
        "counters": counters,
        **QUEUE_SETTINGS,
    }
    point = ServicePoint.objects.filter(code=code).first()
    if point is None:
        point = ServicePoint.objects.create(code=code, **values)
        audit_record(
            acting_user=acting_user,
            action="service_point.create",
            obj=point,
            changes=diff_fields({}, values),
        )
        opening_hours_set(service_point=point, hours=DEMO_HOURS, acting_user=acting_user)
        return point
    changes = diff_fields({f: getattr(point, f) for f in values}, values)
    if changes:
        for field, value in values.items():
            setattr(point, field, value)
        point.save()
        audit_record(
            acting_user=acting_user, action="service_point.update", obj=point, changes=changes
        )
    opening_hours_set(service_point=point, hours=DEMO_HOURS, acting_user=acting_user)
    return point


@transaction.atomic
def service_points_ensure_for_demo(
    *, electing_regions: Iterable[str], acting_user: Any = None
) -> list[ServicePoint]:
    """Service points of every regency/city office for the demo.

    Each office serves at its own building (5 counters) and at every kecamatan office (2); the
    regencies/cities holding an election also run UPT offices in their two most populous
    kecamatan beside the seat and two mobile units (jemput bola) based at the office.
    Every point stands at a village centroid.
    """
    electing = set(electing_regions)
    census = census_2010_district_weights()
    districts_of: dict[str, list[Region]] = {}
    for district in Region.objects.filter(level=Level.DISTRICT).order_by("code"):
        districts_of.setdefault(str(district.parent_id), []).append(district)
    villages_of: dict[str, list[Region]] = {}
    for village in Region.objects.filter(level=Level.VILLAGE).order_by("code"):
        villages_of.setdefault(str(village.parent_id), []).append(village)

    def centre(district: Region) -> Region:
        return _nearest(villages_of[district.code], district.lat, district.lon)

    points = []
    offices = Office.objects.filter(kind=Office.Kind.REGENCY).select_related("region")
    for office in offices:
        if acting_user is not None:
            require(acting_user, Action.MANAGE_OFFICE, office.region_id)
        regency = office.region
        districts = [d for d in districts_of.get(regency.code, []) if villages_of.get(d.code)]
        if not districts:
            continue
        by_code = {d.code: d for d in districts}
        seat = by_code.get(SEATS.get(regency.code, "")) or _nearest(
            districts, regency.lat, regency.lon
        )
        home = centre(seat)
        label = regency.display_name
        points.append(
            _ensure_point(
                code=f"{regency.code}-DINAS",
                office=office,
                kind=ServicePoint.Kind.OFFICE,
                name=f"Kantor Disdukcapil {label}",
                village=home,
                district=seat,
                counters=OFFICE_COUNTERS,
                acting_user=acting_user,
            )
        )
        for district in districts:
            points.append(
                _ensure_point(
                    code=f"{district.code}-KEC",
                    office=office,
                    kind=ServicePoint.Kind.KECAMATAN,
                    name=f"Kantor Kecamatan {district.name}",
                    village=centre(district),
                    district=district,
                    counters=KECAMATAN_COUNTERS,
                    acting_user=acting_user,
                )
            )
        if regency.code not in electing:
            continue
        others = sorted(
            (d for d in districts if d.code != seat.code),
            key=lambda d: (-census.get(d.code, 0), d.code),
        )
        for n, district in enumerate(others[:UPT_PER_REGION], start=1):
            points.append(
                _ensure_point(
                    code=f"{regency.code}-UPT-{n}",
                    office=office,
                    kind=ServicePoint.Kind.UPT,
                    name=f"UPT Disdukcapil {label} di {district.name}",
                    village=centre(district),
                    district=district,
                    counters=UPT_COUNTERS,
                    acting_user=acting_user,
                )
            )
        for n in range(1, MOBILE_PER_REGION + 1):
            points.append(
                _ensure_point(
                    code=f"{regency.code}-KELILING-{n}",
                    office=office,
                    kind=ServicePoint.Kind.MOBILE,
                    name=f"Layanan Keliling (Jemput Bola) {n} {label}",
                    village=home,
                    district=seat,
                    counters=1,
                    acting_user=acting_user,
                )
            )
    return points


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    office_code: str
    first_name: str
    last_name: str
    # Staff at a counter or the entrance work at the office's own service point.
    at_service_point: bool = False


def _regency_accounts(prefix: str, code: str, names: list[tuple[str, str]]) -> list[DemoAccount]:
    roles = [
        (Role.REGENCY_ADMIN, "admin", False),
        (Role.SUPERVISOR, "supervisor", False),
        (Role.OPERATOR, "operator", True),
        (Role.QUEUE_OFFICER, "antrean", True),
    ]
    return [
        DemoAccount(f"{prefix}_{suffix}", role, code, first, last, at_point)
        for (role, suffix, at_point), (first, last) in zip(roles, names, strict=True)
    ]


DEMO_ACCOUNTS = [
    DemoAccount("prov_admin", Role.PROVINCE_ADMIN, "18", "Hendra", "Saputra"),
    *_regency_accounts(
        "bdl",
        "18.71",
        [("Rina", "Wahyuni"), ("Agus", "Hidayat"), ("Dewi", "Lestari"), ("Eko", "Pratama")],
    ),
    *_regency_accounts(
        "lamsel",
        "18.01",
        [("Bambang", "Santoso"), ("Sri", "Rahayu"), ("Yusuf", "Hakim"), ("Nia", "Susanti")],
    ),
    *_regency_accounts(
        "lamteng",
        "18.02",
        [("Rahmat", "Kurniawan"), ("Yuli", "Anggraini"), ("Dimas", "Setiawan"), ("Intan", "Sari")],
    ),
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    office: str
    username: str
    password: str


@transaction.atomic
def demo_users_ensure(*, password: str = DEMO_PASSWORD, acting_user: Any = None) -> list[DemoLogin]:
    """A staff account for every role; an existing one gets its demo password and post back.

    All demo accounts end up with one password hash, so a re-run checks the password once
    instead of once per account (each check costs a deliberately slow hash).
    """
    offices = {o.code: o for o in Office.objects.all()}
    verified: dict[str, bool] = {}
    shared_hash = ""

    def has_password(user: User) -> bool:
        if user.password not in verified:
            verified[user.password] = check_password(password, user.password)
        return verified[user.password]

    logins = []
    for account in DEMO_ACCOUNTS:
        office = offices.get(account.office_code)
        if office is None:
            continue
        point = None
        if account.at_service_point:
            point = ServicePoint.objects.filter(
                office=office, kind=ServicePoint.Kind.OFFICE
            ).first()
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = user_create(
                username=account.username,
                password=password,
                role=account.role,
                office=office,
                acting_user=acting_user,
                first_name=account.first_name,
                last_name=account.last_name,
                service_point=point,
            )
            verified[user.password] = True
        else:
            if acting_user is not None:
                require(acting_user, Action.MANAGE_USERS, office.region_id)
            wanted = {"role": account.role, "office": office, "service_point": point}
            changes = diff_fields({f: getattr(user, f) for f in wanted}, wanted)
            if not has_password(user):
                user.password = shared_hash or make_password(password)
                verified[user.password] = True
                changes["password"] = ["***", "demo"]
            if not user.is_active:
                user.is_active = True
                changes["is_active"] = [False, True]
            if changes:
                for field, value in wanted.items():
                    setattr(user, field, value)
                user.save()
                audit_record(
                    acting_user=acting_user, action="user.demo_reset", obj=user, changes=changes
                )
        if not shared_hash:
            shared_hash = user.password
        elif user.password != shared_hash:
            User.objects.filter(pk=user.pk).update(password=shared_hash)
        logins.append(DemoLogin(account.role, office.name, account.username, password))
    return logins
