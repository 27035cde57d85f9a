from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.lib.forms import CountField
from rekam.regions.models import Level, Region

# Django's default ("- Select an option -") is not translated into Indonesian.
EMPTY_LABEL = _("— choose —")


class SerialField(forms.CharField):
    """A blank card's serial as printed on it: ASCII letters, digits and dashes (other digits,
    such as superscripts, would pass ``str.isdigit`` and break the numeric comparisons)."""

    default_validators = [
        RegexValidator(
            r"^[0-9A-Za-z-]+\Z",
            _("A serial has only letters, digits and dashes, as printed on the blank."),
        )
    ]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)


class ReceiveForm(forms.Form):
    count = CountField(label=_("Number of blanks"), min_value=1, max_value=1_000_000)
    batch = forms.CharField(label=_("Batch"), max_length=60)
    serial_from = SerialField(label=_("First serial"), required=False)
    serial_to = SerialField(
        label=_("Last serial"),
        required=False,
        help_text=_(
            "Fill in both serials, or leave both empty. Blank serials are unique nationwide: "
            "a range overlapping one already received is refused."
        ),
    )
    received_on = forms.DateField(label=_("Date received"), required=False)


class TransferForm(forms.Form):
    from_office = forms.ModelChoiceField(
        label=_("From office"), queryset=Office.objects.none(), empty_label=EMPTY_LABEL
    )
    to_office = forms.ModelChoiceField(
        label=_("To office"), queryset=Office.objects.none(), empty_label=EMPTY_LABEL
    )
    count = CountField(label=_("Number of blanks"), min_value=1, max_value=1_000_000)
    reason = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only offices the user may move blanks between.
        offices = access.offices_for(user, Action.TRANSFER_STOCK).select_related("region")
        for name in ("from_office", "to_office"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = offices


class SpoilForm(forms.Form):
    count = CountField(label=_("Number of blanks"), min_value=1, max_value=1000)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    card_serial = SerialField(label=_("Card serial"), required=False)


class PrinterForm(forms.Form):
    printer = forms.IntegerField(widget=forms.HiddenInput)
    working = forms.BooleanField(label=_("Working"), required=False)
    problem = forms.CharField(label=_("Problem"), max_length=300, required=False)


class PrintForm(forms.Form):
    nik = forms.CharField(widget=forms.HiddenInput, max_length=16)
    card_serial = SerialField(label=_("Card serial"))


class CardSerialForm(forms.Form):
    """Printing from the decision page: the resident is the page's."""

    card_serial = SerialField(label=_("Card serial"))


class PrintListSearchForm(forms.Form):
    nik = forms.CharField(
        label=_("NIK"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"type": "search", "inputmode": "numeric", "autocomplete": "off"}
        ),
    )


class HandOverForm(forms.Form):
    card = forms.IntegerField(widget=forms.HiddenInput)
    received_by = forms.CharField(label=_("Received by"), max_length=150)


class ElectionChoiceField(forms.ModelChoiceField):
    """Elections by name; one whose Suket issuance is over says so (``today`` set)."""

    today: date | None = None

    def label_from_instance(self, obj: Election) -> str:
        if self.today is not None and obj.suket_issue_until < self.today:
            return _("%(name)s (Suket issuance ended %(date)s)") % {
                "name": obj.name,
                "date": f"{obj.suket_issue_until:%d-%m-%Y}",
            }
        return obj.name


class ElectionForm(forms.Form):
    election = ElectionChoiceField(
        label=_("Election"), queryset=Election.objects.none(), empty_label=EMPTY_LABEL
    )

    def __init__(
        self, *args: Any, elections: Any = None, today: date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["election"]
        assert isinstance(field, ElectionChoiceField)
        field.queryset = elections if elections is not None else Election.objects.all()
        field.today = today


class ApproveForm(forms.Form):
    election = forms.IntegerField(widget=forms.HiddenInput)
    # Not required here: the service refuses a blank reason, with its message.
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class RevokeForm(forms.Form):
    # Not required here: the service refuses a blank reason, with its message.
    reason = forms.CharField(label=_("Reason for revoking"), max_length=300, required=False)


class SuketListFilterForm(forms.Form):
    """The Suket list's filters; every choice lies within the user's jurisdiction."""

    STATUS_CHOICES = [
        ("", _("All")),
        ("aktif", _("Valid")),
        ("kedaluwarsa", _("Expired")),
        ("dicabut", _("Revoked")),
    ]

    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    election = forms.ModelChoiceField(
        label=_("Election"), queryset=Election.objects.none(), required=False, empty_label=_("All")
    )
    regency = forms.ModelChoiceField(
        label=_("Regency/city"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("All"),
    )
    q = forms.CharField(
        label=_("NIK or name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regencies = access.regions_for(user, Action.VIEW_RESIDENT).filter(level=Level.REGENCY)
        election = self.fields["election"]
        regency = self.fields["regency"]
        assert isinstance(election, forms.ModelChoiceField)
        assert isinstance(regency, forms.ModelChoiceField)
        election.queryset = (
            Election.objects.filter(regions__in=regencies).distinct().order_by("-polling_day")
        )
        regency.queryset = regencies.order_by("code")
        # One regency/city: nothing to choose.
        self.one_regency = access.single_regency(user) is not None
