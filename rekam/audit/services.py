"""Writing the audit trail: every service that changes an important record calls this."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.db import models

from .models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each field whose value differs."""
    return {
        k: [_plain(before.get(k)), _plain(v)]
        for k, v in after.items()
        if _plain(before.get(k)) != _plain(v)
    }


def _entry(
    *,
    acting_user: Any,
    action: str,
    obj: models.Model,
    changes: Mapping[str, list[Any]] | None,
    reason: str,
    actor_label: str,
) -> AuditEntry:
    user = acting_user if getattr(acting_user, "pk", None) else None
    return AuditEntry(
        actor=user,
        actor_label=actor_label or (user.get_username() if user else "system"),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        changes=dict(changes or {}),
        reason=reason[:300],
    )


def audit_record(
    *,
    acting_user: Any,
    action: str,
    obj: models.Model,
    changes: Mapping[str, list[Any]] | None = None,
    reason: str = "",
    actor_label: str = "",
) -> AuditEntry:
    entry = _entry(
        acting_user=acting_user,
        action=action,
        obj=obj,
        changes=changes,
        reason=reason,
        actor_label=actor_label,
    )
    entry.save()
    return entry


def audit_record_many(
    *,
    acting_user: Any,
    action: str,
    changes: Iterable[tuple[models.Model, Mapping[str, list[Any]]]],
    reason: str = "",
    actor_label: str = "",
) -> None:
    """:func:`audit_record` for many objects changed by one action, in one insert."""
    AuditEntry.objects.bulk_create(
        [
            _entry(
                acting_user=acting_user,
                action=action,
                obj=obj,
                changes=change,
                reason=reason,
                actor_label=actor_label,
            )
            for obj, change in changes
        ],
        batch_size=500,
    )
