"""Resident search shared by the staff pages and the JSON API.

A query with digits is a NIK (typed or pasted with spaces, dots or a spreadsheet apostrophe);
anything else is a name, matched on the upper-case ``name_key`` (prefix matches first).
Only residents in the user's jurisdiction are ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.lib.nik import NikError, clean_nik, parse_nik
from rekam.residents.models import Resident, name_key

MIN_NAME_LENGTH = 2
PAGE_SIZE = 25


@dataclass
class SearchOutcome:
    query: str
    mode: str  # "" (nothing asked), "nik" or "name"
    error: str
    residents: QuerySet[Resident]


def resident_search(user: Any, query: str) -> SearchOutcome:
    """Residents matching ``query`` within ``user``'s jurisdiction, or the reason there are none.

    Raises PermissionDenied (with the reason) when the user may not view residents at all.
    """
    access.require(user, Action.VIEW_RESIDENT)
    base = access.residents_for(user).select_related("village__parent", "regency")
    query = query.strip()
    if not query:
        return SearchOutcome(query, "", "", base.none())
    if any(ch.isdigit() for ch in query):
        try:
            nik = clean_nik(query)
            parse_nik(nik)
        except NikError as exc:
            return SearchOutcome(query, "nik", exc.message, base.none())
        return SearchOutcome(query, "nik", "", base.filter(nik=nik))
    key = name_key(query)
    if len(key) < MIN_NAME_LENGTH:
        return SearchOutcome(
            query,
            "name",
            _("Type at least %(n)d letters of the name.") % {"n": MIN_NAME_LENGTH},
            base.none(),
        )
    found = (
        base.filter(name_key__contains=key)
        .annotate(
            prefix_rank=Case(
                When(name_key__startswith=key, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("prefix_rank", "name_key", "nik")
    )
    return SearchOutcome(query, "name", "", found)
