"""Small builders for test data; every resident gets a valid NIK for its village."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from rekam.lib.nik import make_nik
from rekam.regions.models import Region
from rekam.residents.models import Resident, name_key

_serial = itertools.count(1)


def make_resident(
    village_code: str = "18.71.01.1003",
    *,
    name: str = "Siti Aminah",
    birth_date: date = date(1990, 5, 17),
    sex: str = "P",
    **fields: Any,
) -> Resident:
    village = Region.objects.select_related("parent").get(code=village_code)
    district = village.parent
    assert district is not None
    nik = fields.pop("nik", None) or make_nik(district.code, birth_date, sex, next(_serial))
    return Resident.objects.create(
        nik=nik,
        name=name,
        name_key=name_key(name),
        birth_date=birth_date,
        sex=sex,
        village=village,
        regency_id=str(district.parent_id),
        **fields,
    )
