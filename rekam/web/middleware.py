"""Indonesian unless the person chose otherwise."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


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
