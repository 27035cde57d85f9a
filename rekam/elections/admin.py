from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action, regions_for
from rekam.accounts.admin_scoping import ScopedAdmin, ScopedInline
from rekam.regions.models import Level, Region

from .models import Election, ElectionRegion


class ElectionRegionInline(ScopedInline):
    model = ElectionRegion
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_ELECTIONS
    fields = ("region", "dp4", "dpt", "dpt_unrecorded")
    extra = 0
    min_num = 1  # an election without a region could be seen by nobody but a superuser

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, validate_min=True, **kwargs)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in {"dp4", "dpt", "dpt_unrecorded"}:
            # Voter counts run to seven digits; the admin's integer box shows five.
            field.widget.attrs["class"] = "vBigIntegerField"
        return field

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            # The model field carries no verbose name (a migration for a label is not worth it).
            kwargs.setdefault("label", _("Regency/city"))
            kwargs["queryset"] = Region.objects.filter(
                code__in=regions_for(request.user, Action.MANAGE_ELECTIONS).filter(
                    level=Level.REGENCY
                )
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Election)
class ElectionAdmin(ScopedAdmin):
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_ELECTIONS
    add_action = Action.MANAGE_ELECTIONS
    delete_action = Action.MANAGE_ELECTIONS
    inlines = (ElectionRegionInline,)
    list_display = ("name", "polling_day", "suket_issue_until", "suket_valid_until")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    fields = (
        "name",
        "slug",
        "polling_day",
        "polls_close",
        "suket_issue_until",
        "suket_valid_until",
    )

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # An election concerns an office when it covers a regency/city in its jurisdiction.
        return queryset.filter(access.scope_filter(request.user, "regions")).distinct()

    def object_regions(self, obj: Election) -> Iterable[str | None]:
        if obj.pk is None:
            return [None]
        return list(obj.regions.values_list("code", flat=True)) or [""]
