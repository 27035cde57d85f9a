from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from rekam.accounts.access import Action, regions_for
from rekam.accounts.admin_scoping import ReadOnlyScopedAdmin

from .models import Region


@admin.register(Region)
class RegionAdmin(ReadOnlyScopedAdmin):
    """Kemendagri regions are loaded from data files (``load_regions``), never edited here."""

    view_action = Action.VIEW_REPORTS
    list_display = ("code", "name", "level", "kind", "population")
    list_filter = ("level",)
    search_fields = ("code", "name", "official_name")
    list_select_related = ("parent",)
    show_full_result_count = False

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(pk__in=regions_for(request.user).values("pk"))

    def object_regions(self, obj: Region) -> Iterable[str | None]:
        return [obj.code]
