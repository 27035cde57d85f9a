from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rekam.accounts.models import Office
from rekam.elections.models import Election


class ReceiveForm(forms.Form):
    count = forms.IntegerField(label=_("Number of blanks"), min_value=1, max_value=1_000_000)
    batch = forms.CharField(label=_("Batch"), max_length=60)
    serial_from = forms.CharField(label=_("First serial"), max_length=30, required=False)
    serial_to = forms.CharField(label=_("Last serial"), max_length=30, required=False)
    received_on = forms.DateField(label=_("Date received"), required=False)


class TransferForm(forms.Form):
    from_office = forms.ModelChoiceField(label=_("From office"), queryset=Office.objects.all())
    to_office = forms.ModelChoiceField(label=_("To office"), queryset=Office.objects.all())
    count = forms.IntegerField(label=_("Number of blanks"), min_value=1, max_value=1_000_000)
    reason = forms.CharField(label=_("Note"), max_length=300, required=False)


class SpoilForm(forms.Form):
    count = forms.IntegerField(label=_("Number of blanks"), min_value=1, max_value=1000)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    card_serial = forms.CharField(label=_("Card serial"), max_length=30, required=False)


class PrinterForm(forms.Form):
    printer = forms.IntegerField(widget=forms.HiddenInput)
    working = forms.BooleanField(label=_("Working"), required=False)
    problem = forms.CharField(label=_("Problem"), max_length=300, required=False)


class PrintForm(forms.Form):
    nik = forms.CharField(widget=forms.HiddenInput, max_length=16)
    card_serial = forms.CharField(label=_("Card serial"), max_length=30)


class HandOverForm(forms.Form):
    card = forms.IntegerField(widget=forms.HiddenInput)
    received_by = forms.CharField(label=_("Received by"), max_length=150)


class ElectionForm(forms.Form):
    election = forms.ModelChoiceField(label=_("Election"), queryset=Election.objects.none())

    def __init__(self, *args: Any, elections: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["election"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = elections if elections is not None else Election.objects.all()


class ApproveForm(forms.Form):
    election = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=300)
