from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rekam.accounts.access import Action
from rekam.servicepoints.models import ServicePoint

from .access import offices_for
from .admin_scoping import ScopedAdmin, sees_everything
from .models import Office, Role, User
from .services import ROLES_BY_OFFICE_KIND, password_was_set, user_create

admin.site.site_header = _("Rekam administration")
admin.site.site_title = _("Rekam administration")
admin.site.index_title = _("Settings of your office")


@admin.register(Office)
class OfficeAdmin(ScopedAdmin):
    view_action = Action.MANAGE_OFFICE
    change_action = Action.MANAGE_OFFICE
    list_display = ("code", "name", "kind", "head_name")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    fields = ("code", "kind", "name", "region", "parent", "address", "head_name", "head_nip")
    readonly_fields = ("code", "kind", "region", "parent")

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(pk__in=offices_for(request.user, Action.MANAGE_OFFICE))

    def object_regions(self, obj: Office) -> Iterable[str | None]:
        return [obj.region_id]


class StaffFormMixin(forms.ModelForm):
    """Checks that the role and the service point fit the office of a staff account."""

    # The model fields carry no verbose names; the admin shows these labels.
    field_labels = {"office": _("Office"), "role": _("Role"), "service_point": _("Service point")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.field_labels.items():
            if name in self.fields:
                self.fields[name].label = label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        office, role = data.get("office"), data.get("role")
        if (
            office is not None
            and role
            and role not in ROLES_BY_OFFICE_KIND[Office.Kind(office.kind)]
        ):
            self.add_error("role", _("This role does not exist in this kind of office."))
        point = data.get("service_point")
        if point is not None and office is not None and point.office_id != office.pk:
            self.add_error("service_point", _("The service point belongs to another office."))
        return data


class StaffCreationForm(StaffFormMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "role", "office", "service_point")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].required = True
        self.fields["office"].required = True


class StaffChangeForm(StaffFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class RoleFilter(admin.SimpleListFilter):
    title = _("Role")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Role.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(role=self.value()) if self.value() else queryset


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    view_action = Action.MANAGE_USERS
    change_action = Action.MANAGE_USERS
    add_action = Action.MANAGE_USERS
    # Accounts are deactivated, never deleted: their actions stay in the audit trail.
    delete_action = None
    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = (
        "username",
        "first_name",
        "last_name",
        "role_label",
        "office_label",
        "is_active",
    )
    list_filter = (RoleFilter, "is_active")
    list_select_related = ("office__region",)
    search_fields = ("username", "first_name", "last_name")
    ordering = ("office__code", "username")
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        (_("Office and role"), {"fields": ("office", "role", "service_point")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
    )
    staff_fieldsets = (
        (None, {"fields": ("username", "password", "must_change_password")}),
        (_("Office and role"), {"fields": ("office", "role", "service_point", "is_active")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    superuser_fieldsets = (
        *staff_fieldsets[:3],
        (_("System"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        staff_fieldsets[3],
    )
    # The flag follows who set the password (accounts.services.password_was_set): an admin
    # resets a password to require a change, and cannot waive one.
    readonly_fields = ("last_login", "date_joined", "must_change_password")

    @admin.display(description=_("Role"), ordering="role")
    def role_label(self, obj: User) -> str:
        return obj.get_role_display()

    @admin.display(description=_("Office"), ordering="office__code")
    def office_label(self, obj: User) -> str:
        # The office's full name is long; its code and region say the same in a list.
        return f"{obj.office.code} {obj.office.region.display_name}" if obj.office else ""

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if sees_everything(request.user):
            return queryset
        return queryset.filter(office__in=offices_for(request.user, Action.MANAGE_USERS))

    def object_regions(self, obj: User) -> Iterable[str | None]:
        # An account without an office (a system administrator) lies in no jurisdiction.
        return [obj.office.region_id if obj.office_id and obj.office else ""]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        return self.superuser_fieldsets if request.user.is_superuser else self.staff_fieldsets

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        offices = offices_for(request.user, Action.MANAGE_USERS)
        if db_field.name == "office":
            kwargs["queryset"] = offices
        elif db_field.name == "service_point":
            kwargs["queryset"] = ServicePoint.objects.filter(office__in=offices)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        response = super().user_change_password(request, id, form_url)
        # Success redirects to the user's page; a refused form comes back to this one.
        if request.method == "POST" and getattr(response, "url", request.path) != request.path:
            target = self.get_object(request, unquote(id))
            if target is not None:
                password_was_set(target, acting_user=request.user)
        return response

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = user_create(
            username=data["username"],
            password=data["password1"],
            role=data["role"],
            office=data["office"],
            acting_user=request.user,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            service_point=data.get("service_point"),
        )
        # The admin goes on with the object it built; make it the row user_create wrote.
        obj.pk = created.pk
        obj.password = created.password
        obj.is_staff = created.is_staff
        obj._state.adding = False
        obj._state.db = created._state.db
