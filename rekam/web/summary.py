"""Counts of residents by KTP-el state within a user's jurisdiction (home page and API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.residents.states import KtpState


@dataclass
class SummaryRow:
    code: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def ordered(self) -> list[int]:
        """Counts in the order of :class:`KtpState` (for table cells)."""
        return [self.counts.get(s, 0) for s in KtpState.values]


@dataclass
class Summary:
    rows: list[SummaryRow]
    total: SummaryRow


def _short_name(kind: str, name: str) -> str:
    """``Kab. Lampung Selatan`` / ``Kota Bandar Lampung``: short enough for a table row."""
    prefix = {"kabupaten": "Kab.", "kota": "Kota"}.get((kind or "").lower(), "")
    return f"{prefix} {name}".strip()


def state_summary(user: Any) -> Summary:
    """One row per regency/city in the user's jurisdiction plus a total, in one query."""
    grouped = (
        access.residents_for(user, Action.VIEW_REPORTS)
        .order_by()  # the default ordering would join the GROUP BY
        .values("regency_id", "regency__name", "regency__kind", "ktp_state")
        .annotate(n=Count("pk"))
    )
    rows: dict[str, SummaryRow] = {}
    total = SummaryRow(code="", name="")
    for item in grouped:
        code = item["regency_id"]
        row = rows.get(code)
        if row is None:
            name = _short_name(item["regency__kind"], item["regency__name"])
            row = rows[code] = SummaryRow(code=code, name=name)
        row.counts[item["ktp_state"]] = item["n"]
        total.counts[item["ktp_state"]] = total.counts.get(item["ktp_state"], 0) + item["n"]
    return Summary(rows=sorted(rows.values(), key=lambda r: r.code), total=total)
