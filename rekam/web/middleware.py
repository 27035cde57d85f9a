"""Request handling every page shares: the language, and a password someone else chose."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class IgnoreBrowserLanguageMiddleware:
    """Drop the browser's Accept-Language so LocaleMiddleware only follows the language switch.

    Office PCs often run an English browser; the staff pages must still open in Indonesian
    (``LANGUAGE_CODE``) until someone picks English with the switch (``set_language`` cookie).
    Must come before ``django.middleware.locale.LocaleMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """Send a person whose password someone else chose to the password page first.

    A new account's first password, or one an admin reset, is known to the admin too; until
    the person picks their own, every other staff page redirects to the password page. Must
    come after ``AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(self._reachable())
        ):
            return redirect("password_change")
        return self.get_response(request)

    @staticmethod
    def _reachable() -> tuple[str, ...]:
        """What stays open: the password page, logging out, the language switch, files."""
        return (
            reverse("password_change"),
            reverse("logout"),
            reverse("set_language"),
            f"/{settings.STATIC_URL.lstrip('/')}",
        )
