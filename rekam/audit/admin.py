from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import BigIntegerField, Case, Exists, OuterRef, Q, QuerySet, When
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.admin_scoping import ReadOnlyScopedAdmin, sees_everything
from rekam.residents.models import Resident

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyScopedAdmin):
    view_action = Action.MANAGE_OFFICE
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label", "action")
    show_full_result_count = False

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        user = request.user
        if sees_everything(user):
            return queryset
        # Changes to residents of the jurisdiction, and whatever its offices' staff did.
        about_residents = Q(object_type=Resident._meta.label_lower)
        by_staff = Q(actor__office__in=access.offices_for(user, Action.MANAGE_OFFICE))
        if access.covers_every_region(user) and access.can(user, Action.VIEW_RESIDENT):
            # The province office with no other province loaded: every resident is its own.
            return queryset.filter(about_residents | by_staff)
        # Each entry's resident looked up by primary key, not matched against the ids of every
        # resident of the jurisdiction (in the list, its count and each filter's choices). Only
        # a resident's entry is read as a number: other objects' ids need not be numbers.
        resident_pk = Case(
            When(about_residents, then=Cast("object_id", output_field=BigIntegerField())),
            output_field=BigIntegerField(),
        )
        residents = access.residents_for(user).filter(pk=OuterRef("resident_pk"))
        return queryset.alias(resident_pk=resident_pk).filter(Q(Exists(residents)) | by_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "changes_pretty"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "at",
            "actor",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes_pretty",
            "reason",
        ]

    @admin.display(description=_("changes"))
    def changes_pretty(self, obj: AuditEntry) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, ensure_ascii=False, indent=2, default=str)
        )
