from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action, offices_for, regions_for
from rekam.accounts.admin_scoping import ScopedAdmin, ScopedInline
from rekam.regions.models import Level

from .models import CalendarDay, MobileVisit, OpeningHours, ServicePoint


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
            "offers_recording",
            "offers_printing",
            "offers_suket",
            "offers_other",
            "session_minutes",
            "service_minutes",
            "protocol_percent",
            "waiting_room_limit",
            "invitation_percent",
            "holiday_opening",
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


class OpeningHoursInline(ScopedInline):
    model = OpeningHours
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_OFFICE
    fields = ("weekday", "opens_at", "closes_at")
    extra = 0


class CalendarDayInline(ScopedInline):
    model = CalendarDay
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_OFFICE
    fields = ("day", "is_open", "opens_at", "closes_at", "reason")
    extra = 0


class MobileVisitInline(ScopedInline):
    model = MobileVisit
    view_action = Action.VIEW_REPORTS
    change_action = Action.MANAGE_OFFICE
    fields = ("day", "opens_at", "closes_at", "place_kind", "place_name", "village", "address")
    raw_id_fields = ("village",)
    extra = 0


@admin.register(ServicePoint)
class ServicePointAdmin(ScopedAdmin):
    form = ServicePointForm
    inlines = (OpeningHoursInline, CalendarDayInline, MobileVisitInline)
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

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Queue sessions not yet holding a number are made again from the new settings.
        from rekam.antrean.services import sessions_refresh

        sessions_refresh(service_point=form.instance, from_day=timezone.localdate())
