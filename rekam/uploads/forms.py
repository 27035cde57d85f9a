from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rekam.elections.models import Election

from .models import Upload


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of file"), widget=forms.RadioSelect)
    election = forms.ModelChoiceField(
        label=_("Election (for a voter list)"),
        queryset=Election.objects.none(),
        required=False,
    )
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args: Any, kinds: list[str], elections: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field: Any = self.fields["kind"]
        kind_field.choices = [(k, Upload.Kind(k).label) for k in kinds]
        if len(kinds) == 1:
            kind_field.initial = kinds[0]
        election_field: Any = self.fields["election"]
        election_field.queryset = elections
