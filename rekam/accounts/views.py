"""A person's own account: changing the password."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from .services import password_was_set


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form, refusing to keep the password: one an admin chose stays known to them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In the product's words ("kata sandi"), and saying which password is the current one.
        self.fields["old_password"].label = _("Current password (the one you log in with)")
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("new_password1")
        if password and not self.has_error("new_password2") and self.user.check_password(password):
            self.add_error(
                "new_password2",
                forms.ValidationError(
                    _("The new password must differ from the current one."),
                    code="password_unchanged",
                ),
            )
        return data


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("home")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["required"] = self.request.user.must_change_password  # type: ignore[union-attr]
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_was_set(form.user, acting_user=self.request.user)
        messages.success(self.request, _("Your password has been changed."))
        return response
