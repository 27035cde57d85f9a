"""The Django admin, scoped by Rekam's roles and jurisdictions.

Django's per-model permission table is not used: what a staff member may view, change, add or
delete in the admin follows ``rekam.accounts.access`` exactly as on the staff pages, and every
list only holds rows of the user's jurisdiction. Every admin class of the project derives from
:class:`ScopedAdmin`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.audit.services import audit_record


def sees_everything(user: Any) -> bool:
    return access.region_scope(user) == ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, QuerySet | list | tuple | set):
        return sorted(_jsonable(v) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class ScopedAdmin(admin.ModelAdmin):
    """Admin whose permissions come from ``access.can`` and whose rows are scoped.

    Subclasses name the action needed for each operation (``None``: nobody, not even a
    superuser, because the data is read-only or changes only through a service elsewhere),
    implement :meth:`scope_queryset`, and say where an object lies with
    :meth:`object_regions` (``""``: nowhere, so only those who see everything may act on it).
    """

    view_action: Action | None = None
    change_action: Action | None = None
    add_action: Action | None = None
    delete_action: Action | None = None
    # Write an audit entry for admin saves; off where a service already writes one.
    audit_saves = True

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        raise NotImplementedError(f"{type(self).__name__} must scope its queryset")

    def object_regions(self, obj: Any) -> Iterable[str | None]:
        """Region codes the object lies in; ``None`` when its place is the scoped queryset's."""
        return [None]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope_queryset(request, super().get_queryset(request))

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        if not self.has_view_or_change_permission(request):
            # The role has no business here at all: say so rather than "not found".
            raise PermissionDenied
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Rows outside the jurisdiction do not exist for this user.
            raise Http404
        return obj

    def _allowed(self, request: HttpRequest, action: Action | None, obj: Any = None) -> bool:
        if action is None:
            return False
        if obj is None:
            return access.can(request.user, action)
        return all(access.can(request.user, action, code) for code in self.object_regions(obj))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.view_action, obj) or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.change_action, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.add_action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.delete_action, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        if self.audit_saves:
            changes = {
                name: [
                    _jsonable(before.get(name)) if change else None,
                    _jsonable(form.cleaned_data.get(name)),
                ]
                for name in form.changed_data
                if not name.startswith("password")
            }
            audit_record(
                acting_user=request.user,
                action=f"{obj._meta.model_name}.{'update' if change else 'create'}",
                obj=obj,
                changes=changes,
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if not self.audit_saves:
            super().save_formset(request, form, formset, change)
            return
        saved = []
        for inline_form in formset.forms:
            instance = inline_form.instance
            if inline_form in formset.deleted_forms:
                if instance.pk is not None:
                    audit_record(
                        acting_user=request.user,
                        action=f"{instance._meta.model_name}.delete",
                        obj=instance,
                        changes={"deleted": [str(instance), None]},
                    )
            elif inline_form.has_changed():
                adding = instance.pk is None
                changes = {
                    name: [
                        None if adding else _jsonable(inline_form.initial.get(name)),
                        _jsonable(inline_form.cleaned_data.get(name)),
                    ]
                    for name in inline_form.changed_data
                }
                saved.append((instance, "create" if adding else "update", changes))
        super().save_formset(request, form, formset, change)
        for instance, verb, changes in saved:
            audit_record(
                acting_user=request.user,
                action=f"{instance._meta.model_name}.{verb}",
                obj=instance,
                changes=changes,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if self.audit_saves:
            audit_record(
                acting_user=request.user,
                action=f"{obj._meta.model_name}.delete",
                obj=obj,
                changes={"deleted": [str(obj), None]},
            )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ScopedInline(admin.TabularInline):
    """Inline rows editable with the same ``access`` actions as their parent's admin."""

    view_action: Action | None = None
    change_action: Action | None = None

    def _allowed(self, request: HttpRequest, action: Action | None) -> bool:
        return action is not None and access.can(request.user, action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.view_action) or self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.change_action)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.change_action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, self.change_action)


class ReadOnlyScopedAdmin(ScopedAdmin):
    """Rows anyone with ``view_action`` may read and nobody may change in the admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]
