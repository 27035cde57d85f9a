"""Forms of the staff pages."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.lib.nik import NikError, clean_kk
from rekam.regions.models import Level, Region
from rekam.residents.models import Resident
from rekam.residents.services import EDITABLE_FIELDS
from rekam.residents.states import KtpState


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Wrong username or password. Mind capital and small letters in both fields."
        ),
        "inactive": _("This account has been deactivated. Ask your office's administrator."),
    }


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("NIK or name"),
        required=False,
        max_length=150,
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "inputmode": "search"}
        ),
    )


class MoveForm(forms.Form):
    to_state = forms.ChoiceField(choices=KtpState.choices)
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=300)


class VillageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Region) -> str:
        district = obj.parent.display_name if obj.parent else ""
        return f"{obj.code} {obj.display_name} (Kec. {district})"


def clean_phone(value: str) -> str:
    """An Indonesian phone number in E.164, or a ValidationError saying why not."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        raise forms.ValidationError(_("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise forms.ValidationError(_("This phone number is not valid."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ResidentDataForm(forms.ModelForm):
    """The correctable fields of a resident, cleaned the way numbers arrive from people."""

    class Meta:
        model = Resident
        fields = EDITABLE_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Typed numbers may carry spaces, dots or dashes; cleaning brings them to the stored length.
        numbers = (
            ("kk_number", 40, "numeric", _("Family card number"), ""),
            ("phone", 30, "tel", _("Phone"), _("For example 0812 3456 7890; stored as +62…")),
        )
        for name, max_length, mode, label, help_text in numbers:
            if name not in self.fields:  # read-only in the admin for roles that may not edit
                continue
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=max_length,
                help_text=help_text,
                widget=forms.TextInput(attrs={"inputmode": mode, "autocomplete": "off"}),
            )
        village = self.fields.get("village")
        if (
            isinstance(village, forms.ModelChoiceField)
            and village.queryset is not None
            and self.instance.regency_id
        ):
            # A correction keeps the resident in their regency/city: moving elsewhere is a
            # transfer (pindah), not a correction. Also keeps the list short at province level.
            village.queryset = village.queryset.filter(parent__parent=self.instance.regency_id)

    def clean_kk_number(self) -> str:
        value = self.cleaned_data["kk_number"]
        if not value:
            return ""
        try:
            return clean_kk(value)
        except NikError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])

    def changed_values(self) -> dict[str, Any]:
        """The editable fields whose value the person changed."""
        return {f: self.cleaned_data[f] for f in self.changed_data if f in EDITABLE_FIELDS}


class ResidentEditForm(ResidentDataForm):
    """Corrections on the staff pages; saved through ``resident_update``, never ``save()``."""

    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=300,
        help_text=_("For example: according to the latest family card."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"] = VillageChoiceField(
            queryset=access.regions_for(user, Action.EDIT_RESIDENT)
            .filter(level=Level.VILLAGE, parent__parent=self.instance.regency_id)
            .select_related("parent")
            .order_by("code"),
            label=self.fields["village"].label,
        )


class WhatsAppConsentForm(forms.Form):
    """The resident's yes or no to WhatsApp messages, recorded with how they gave it."""

    # Stored as the consent's source (Indonesian: it appears in refusal reasons).
    SOURCES = [
        ("pernyataan di loket", _("Told the officer at the counter")),
        ("formulir tertulis", _("Signed a written form")),
        ("telepon", _("Said so on the phone")),
    ]

    granted = forms.BooleanField(
        label=_("Agrees to receive WhatsApp messages (invitations, Suket, card ready)"),
        required=False,
    )
    source = forms.ChoiceField(label=_("How the resident said so"), choices=SOURCES)

    def __init__(self, *args: Any, resident: Resident, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"granted": resident.whatsapp_consent})
        super().__init__(*args, **kwargs)
        self.resident = resident

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("granted") and not self.resident.phone:
            raise forms.ValidationError(
                _("Record the resident's phone number first: WhatsApp needs one.")
            )
        return data
