"""A password someone else chose is changed by its person at the next login."""

from __future__ import annotations

from django.urls import reverse

from rekam.accounts.models import Role, User
from rekam.audit.models import AuditEntry

from .conftest import PASSWORD

NEW_PASSWORD = "kata-sandi-baru-2026"


def _created_by_admin(client, personas) -> User:
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "bdl_operator2",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "office": personas.bdl_office.pk,
            "role": Role.OPERATOR,
        },
    )
    assert response.status_code == 302
    client.logout()
    return User.objects.get(username="bdl_operator2")


def test_a_new_account_must_choose_its_own_password_first(client, personas):
    user = _created_by_admin(client, personas)
    assert user.must_change_password
    assert client.login(username="bdl_operator2", password=PASSWORD)

    response = client.get(reverse("resident_search"))
    assert response.status_code == 302
    assert response.url == reverse("password_change")
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert page.context["required"]

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert user.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user.change_password", object_id=str(user.pk))
    assert entry.actor == user
    assert entry.changes == {"must_change_password": [True, False]}
    # Still logged in, and the pages open again.
    assert client.get(reverse("resident_search")).status_code == 200


def test_logging_out_stays_possible_before_the_change(client, personas):
    _created_by_admin(client, personas)
    assert client.login(username="bdl_operator2", password=PASSWORD)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url != reverse("password_change")


def test_a_wrong_old_password_changes_nothing(client, personas):
    user = _created_by_admin(client, personas)
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "salah", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    user.refresh_from_db()
    assert user.must_change_password
    assert user.check_password(PASSWORD)


def test_a_password_reset_by_an_admin_must_be_changed_again(client, personas):
    operator = personas.bdl_operator
    assert not operator.must_change_password  # accounts made without an acting person
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[operator.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.must_change_password
    entry = AuditEntry.objects.get(action="user.set_password", object_id=str(operator.pk))
    assert entry.actor == personas.bdl_admin


def test_anyone_may_change_their_own_password_from_the_menu(client, personas):
    client.force_login(personas.bdl_operator)
    home = client.get(reverse("home"))
    assert reverse("password_change").encode() in home.content
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert not page.context["required"]


def test_the_password_an_admin_chose_cannot_be_kept(client, personas):
    user = _created_by_admin(client, personas)
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    user.refresh_from_db()
    assert user.must_change_password


def test_an_admin_cannot_waive_the_change(client, personas):
    user = _created_by_admin(client, personas)
    client.force_login(personas.bdl_admin)
    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert "must_change_password" not in page.context["adminform"].form.fields


def test_a_password_like_the_username_is_refused(client, personas):
    user = _created_by_admin(client, personas)
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "bdl_operator2x",
            "new_password2": "bdl_operator2x",
        },
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
