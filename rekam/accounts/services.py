"""Creating offices and staff accounts."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record
from rekam.regions.models import Level, Region

from .models import Office, Role, User


@transaction.atomic
def offices_ensure_for_province(*, province_code: str) -> list[Office]:
    """The province office and one office per regency/city of the province (idempotent)."""
    province = Region.objects.get(code=province_code, level=Level.PROVINCE)
    top, _ = Office.objects.get_or_create(
        code=province.code,
        defaults={
            "kind": Office.Kind.PROVINCE,
            "region": province,
            "name": f"Dinas Kependudukan dan Pencatatan Sipil Provinsi {province.name}",
        },
    )
    offices = [top]
    for regency in Region.objects.filter(parent=province, level=Level.REGENCY):
        office, _ = Office.objects.get_or_create(
            code=regency.code,
            defaults={
                "kind": Office.Kind.REGENCY,
                "region": regency,
                "parent": top,
                "name": f"Dinas Kependudukan dan Pencatatan Sipil {regency.display_name}",
            },
        )
        offices.append(office)
    return offices


# Which roles each office kind may hold.
ROLES_BY_OFFICE_KIND = {
    Office.Kind.PROVINCE: {Role.PROVINCE_ADMIN, Role.SUPERVISOR, Role.OPERATOR},
    Office.Kind.REGENCY: {Role.REGENCY_ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.QUEUE_OFFICER},
}


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    office: Office,
    acting_user: Any = None,
    first_name: str = "",
    last_name: str = "",
    **extra: Any,
) -> User:
    """Create a staff account; a person creating it must manage users of that office."""
    if acting_user is not None:
        require(acting_user, Action.MANAGE_USERS, office.region_id)
    if role not in ROLES_BY_OFFICE_KIND[Office.Kind(office.kind)]:
        raise ValueError(f"role {role} does not belong in a {office.kind} office")
    user = User.objects.create_user(
        username=username,
        password=password,
        role=role,
        office=office,
        first_name=first_name,
        last_name=last_name,
        is_staff=True,
        # Whoever creates an account knows its first password; the person replaces it.
        must_change_password=acting_user is not None,
        **extra,
    )
    audit_record(
        acting_user=acting_user,
        action="user.create",
        obj=user,
        changes={"role": [None, role], "office": [None, office.code]},
    )
    return user


def password_was_set(user: User, *, acting_user: Any) -> None:
    """Record a password a form has just set (Django's password forms save it themselves).

    Set by someone else (an admin's reset), it must be changed at the person's next login;
    changed by the person, the requirement is lifted.
    """
    by_other = acting_user is None or acting_user.pk != user.pk
    old = user.must_change_password
    if old != by_other:
        User.objects.filter(pk=user.pk).update(must_change_password=by_other)
        user.must_change_password = by_other
    audit_record(
        acting_user=acting_user,
        action="user.set_password" if by_other else "user.change_password",
        obj=user,
        changes={"must_change_password": [old, by_other]} if old != by_other else None,
    )
