"""How the dashboard writes its figures: Indonesian number formats, "—" for no figure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.formats import number_format

from rekam.web.templatetags.rekam_tags import days_left

register = template.Library()


@register.filter
def dash_cell(value: Any, kind: str = "count") -> str:
    """A figure as the tables show it, by the column's kind."""
    if value is None:
        return "—"
    if kind == "share":
        # Rounded half up, as the map's labels are.
        tenths = Decimal(repr(100 * value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{number_format(tenths, 1)} %"
    if kind in ("minutes", "rate"):
        return str(number_format(value, 1))
    if kind == "days":
        return days_left(value)
    return str(intcomma(value))


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
