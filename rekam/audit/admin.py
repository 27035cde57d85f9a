from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import CharField, Q, QuerySet
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
        resident_ids = (
            access.residents_for(user)
            .annotate(pk_text=Cast("pk", output_field=CharField()))
            .values("pk_text")
        )
        return queryset.filter(
            Q(object_type=Resident._meta.label_lower, object_id__in=resident_ids)
            | Q(actor__office__in=access.offices_for(user, Action.MANAGE_OFFICE))
        )

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
