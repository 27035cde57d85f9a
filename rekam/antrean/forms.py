from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rekam.lib.nik import NikError, parse_nik
from rekam.servicepoints.models import Service

from .models import Outcome, Priority


class IdentifyForm(forms.Form):
    nik = forms.CharField(
        label="NIK",
        max_length=40,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_("The 16 digits on your KTP-el or family card."),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_nik(self) -> str:
        try:
            return parse_nik(self.cleaned_data["nik"]).nik
        except NikError as exc:
            raise forms.ValidationError(f"NIK tidak sah: {exc.message}.") from None


class WalkInForm(forms.Form):
    service = forms.ChoiceField(choices=Service.choices)
    nik = forms.CharField(required=False, max_length=40)
    priority = forms.ChoiceField(choices=Priority.choices, required=False)

    def clean_nik(self) -> str:
        raw = self.cleaned_data.get("nik") or ""
        if not raw.strip():
            return ""
        try:
            return parse_nik(raw).nik
        except NikError as exc:
            raise forms.ValidationError(f"NIK tidak sah: {exc.message}.") from None


class ScanForm(forms.Form):
    code = forms.CharField(max_length=2000, strip=True)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    note = forms.CharField(required=False, max_length=200)


class TransferForm(forms.Form):
    service = forms.ChoiceField(choices=Service.choices)


class NikForm(forms.Form):
    nik = forms.CharField(max_length=40)


def first_error(form: forms.Form) -> str:
    errors: Any = form.errors
    for messages in errors.values():
        return str(messages[0])
    return "Isian tidak lengkap."
