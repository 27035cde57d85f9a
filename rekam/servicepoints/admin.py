from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action, offices_for, regions_for
from rekam.accounts.admin_scoping import ScopedAdmin
from rekam.regions.models import Level

from .models import ServicePoint


class ServicePointForm(forms.ModelForm):
    class Meta:
        model = ServicePoint
        fields = (
            "office",
            "kind",
            "code",
            "name",
            "village",
            "address",
            "lat",
            "lon",
            "counters",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        office, village = data.get("office"), data.get("village")
        if (
            office is not None
            and village is not None
            and not access.in_scope(office.region_id, village.code)
        ):
            self.add_error("village", _("The village lies outside the office's region."))
        return data


@admin.register(ServicePoint)
class ServicePointAdmin(ScopedAdmin):
    form = ServicePointForm
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_OFFICE
    add_action = Action.MANAGE_OFFICE
    delete_action = Action.MANAGE_OFFICE
    list_display = ("code", "name", "kind", "office", "counters", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("office",)
    search_fields = ("code", "name")

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(office__in=offices_for(request.user, Action.VIEW_REPORTS))

    def object_regions(self, obj: ServicePoint) -> Iterable[str | None]:
        return [obj.office.region_id]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "office":
            kwargs["queryset"] = offices_for(request.user, Action.MANAGE_OFFICE)
        elif db_field.name == "village":
            kwargs["queryset"] = regions_for(request.user, Action.MANAGE_OFFICE).filter(
                level=Level.VILLAGE
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
