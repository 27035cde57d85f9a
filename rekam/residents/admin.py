from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.admin_scoping import ReadOnlyScopedAdmin, ScopedAdmin, sees_everything
from rekam.lib.nik import NikError, clean_nik
from rekam.regions.models import Level
from rekam.web.forms import ResidentDataForm

from .models import ImportBatch, RecordEvent, Resident, name_key
from .services import EDITABLE_FIELDS, resident_update


class RegencyFilter(admin.SimpleListFilter):
    title = _("regency/city")
    parameter_name = "regency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        regencies = access.regions_for(request.user).filter(level=Level.REGENCY)
        return [(r.code, r.display_name) for r in regencies]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(regency_id=self.value())
        return queryset


class ResidentAdminForm(ResidentDataForm):
    reason = forms.CharField(label=_("Reason for the change"), max_length=300, required=False)


@admin.register(Resident)
class ResidentAdmin(ScopedAdmin):
    """Residents of the jurisdiction; corrections go through ``resident_update`` (audited)."""

    form = ResidentAdminForm
    view_action = Action.VIEW_RESIDENT
    change_action = Action.EDIT_RESIDENT
    # Residents enter through the registry import and are never deleted here.
    add_action = None
    delete_action = None
    audit_saves = False  # resident_update writes the audit entry
    list_display = ("nik", "name", "birth_date", "village", "ktp_state")
    list_filter = ("ktp_state", RegencyFilter, "sex")
    list_select_related = ("village", "regency")
    search_fields = ("nik", "name_key")
    search_help_text = _("NIK (16 digits) or the beginning or part of the name")
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("nik", "ktp_state", "ktp_state_at")}),
        (
            _("Identity"),
            {
                "fields": (
                    "name",
                    "kk_number",
                    "birth_place",
                    "birth_date",
                    "sex",
                    "religion",
                    "marital_status",
                    "occupation",
                    "citizenship",
                )
            },
        ),
        (_("Address"), {"fields": ("village", "rt", "rw", "street", "regency_name")}),
        (_("Contact"), {"fields": ("phone", "whatsapp_consent", "consent_since")}),
        (_("Change"), {"fields": ("reason",)}),
    )
    readonly_fields = (
        "nik",
        "ktp_state",
        "ktp_state_at",
        "regency_name",
        "whatsapp_consent",
        "consent_since",
    )

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset & access.residents_for(request.user)

    @admin.display(description=_("regency/city"))
    def regency_name(self, obj: Resident) -> str:
        return str(obj.regency)

    @admin.display(description=_("agreed on"))
    def consent_since(self, obj: Resident) -> Any:
        return obj.whatsapp_consent_at

    def object_regions(self, obj: Resident) -> Iterable[str | None]:
        return [obj.regency_id]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if self.has_change_permission(request, obj):
            return self.fieldsets
        return self.fieldsets[:-1]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if any(ch.isdigit() for ch in term):
            try:
                return queryset.filter(nik=clean_nik(term)), False
            except NikError:
                return queryset.none(), False
        return queryset.filter(name_key__contains=name_key(term)), False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "village":
            kwargs["queryset"] = access.regions_for(request.user, Action.EDIT_RESIDENT).filter(
                level=Level.VILLAGE
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The form has already written its values onto ``obj``; the service compares against
        # the stored row and writes the change with old and new values.
        stored = Resident.objects.select_related("village__parent").get(pk=obj.pk)
        values = {f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE_FIELDS}
        resident_update(
            resident=stored,
            acting_user=request.user,
            reason=form.cleaned_data.get("reason", ""),
            **values,
        )


@admin.register(RecordEvent)
class RecordEventAdmin(ReadOnlyScopedAdmin):
    view_action = Action.VIEW_RESIDENT
    list_display = ("at", "resident", "from_state", "to_state", "source", "actor_label")
    list_filter = ("to_state", "source")
    list_select_related = ("resident",)
    show_full_result_count = False

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        user = request.user
        if not access.can(user, Action.VIEW_RESIDENT):
            return queryset.none()
        if access.covers_every_region(user):
            return queryset  # every resident is the user's: nothing to filter
        # Joined with the residents, not matched against the ids of every resident of the
        # jurisdiction gathered first: a regency's events are then read from its residents.
        return queryset.filter(access.scope_filter(user, "resident__regency"))

    def object_regions(self, obj: RecordEvent) -> Iterable[str | None]:
        return [obj.resident.regency_id]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyScopedAdmin):
    view_action = Action.IMPORT_REGISTRY
    list_display = (
        "started_at",
        "kind",
        "file_name",
        "acting_user",
        "rows_read",
        "created",
        "updated",
        "rejected",
    )
    list_filter = ("kind",)
    list_select_related = ("acting_user",)

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if sees_everything(request.user):
            return queryset
        return queryset.filter(
            acting_user__office__in=access.offices_for(request.user, Action.IMPORT_REGISTRY)
        )
