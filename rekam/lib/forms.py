"""Form fields shared by the staff pages."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# A whole number as people write it in Indonesia: plain digits, or digits grouped by threes with
# one kind of separator (a dot, as every figure in the app is shown, or a space).
_PLAIN = re.compile(r"-?\d+")
_GROUPED = re.compile(r"-?\d{1,3}(?:(?P<sep>[. ])\d{3})(?:(?P=sep)\d{3})*")
# Spaces a browser or a spreadsheet may paste between the groups.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


class CountField(forms.IntegerField):
    """A count typed by a person: ``1000``, ``1.000`` and ``1 000`` are all a thousand.

    Django's IntegerField reads ``1.000`` as 1 (it drops a decimal part of zeros), which is a
    thousand to anyone who reads this app's figures. A comma (the Indonesian decimal mark, or an
    English thousands separator: either way ambiguous), a fraction (``1.5``) or a group that is not
    three digits (``1.00``) is refused rather than guessed.
    """

    widget = forms.TextInput
    default_error_messages = {
        "invalid": _(
            "Enter a whole number, such as 1000 or 1.000: a dot only separates thousands, "
            "and a count has no decimals."
        ),
    }

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        # A text box, not type=number: a browser's number box refuses "1 000" and reads "1.000"
        # as one.
        return {**super().widget_attrs(widget), "inputmode": "numeric", "autocomplete": "off"}

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).translate(_SPACES).strip()
        if _PLAIN.fullmatch(text) or _GROUPED.fullmatch(text):
            return int(text.replace(".", "").replace(" ", ""))
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
