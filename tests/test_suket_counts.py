"""Counts of blank cards as people type them: "1.000" is a thousand, never one."""

from __future__ import annotations

import pytest
from django import forms
from django.utils import translation

from rekam.lib.forms import CountField
from rekam.suket.models import BlankMovement
from rekam.suket.stock import blank_receive, stock_balance


@pytest.mark.parametrize(
    ("typed", "count"),
    [
        ("1.000", 1000),
        ("1 000", 1000),
        ("1\u00a0000", 1000),  # a non-breaking space pasted from a spreadsheet
        ("12.500", 12500),
        ("1.000.000", 1_000_000),
        ("1000", 1000),
        (" 7 ", 7),
        (5, 5),
    ],
)
def test_a_count_reads_indonesian_thousands(typed, count):
    assert CountField().clean(typed) == count


@pytest.mark.parametrize(
    "typed", ["2,5", "1,000", "1.5", "1.00", "1.0000", "1.000 000", "1..000", ".500", "1.", "dua"]
)
def test_a_decimal_or_ambiguous_count_is_refused(typed):
    with pytest.raises(forms.ValidationError) as refused:
        CountField().clean(typed)
    assert refused.value.code == "invalid"


class CountForm(forms.Form):
    count = CountField(min_value=1, max_value=1000)


def test_the_count_box_is_text_so_a_browser_keeps_the_dots():
    box = str(CountForm()["count"])
    assert 'type="text"' in box and 'inputmode="numeric"' in box and "min=" not in box


def test_a_transfer_of_1_000_moves_a_thousand_and_says_so(personas, client):
    blank_receive(office=personas.bdl_office, count=1500, batch="B1")
    client.force_login(personas.province_admin)
    with translation.override("id"):
        page = client.post(
            "/suket/stok/",
            {
                "action": "transfer",
                "kantor": "18.71",
                "t-from_office": personas.bdl_office.pk,
                "t-to_office": personas.lamsel_office.pk,
                "t-count": "1.000",
            },
            follow=True,
        )
    assert stock_balance(personas.bdl_office) == 500
    assert stock_balance(personas.lamsel_office) == 1000
    message = str(next(iter(page.context["messages"])))
    assert "1.000" in message
    assert "Kota Bandar Lampung" in message and "Kabupaten Lampung Selatan" in message


def test_a_transfer_of_1_5_is_refused_and_nothing_moves(personas, client):
    blank_receive(office=personas.bdl_office, count=10, batch="B1")
    client.force_login(personas.province_admin)
    page = client.post(
        "/suket/stok/",
        {
            "action": "transfer",
            "kantor": "18.71",
            "t-from_office": personas.bdl_office.pk,
            "t-to_office": personas.lamsel_office.pk,
            "t-count": "1.5",
        },
    )
    assert page.status_code == 200 and "count" in page.context["transfer"].errors
    assert not BlankMovement.objects.filter(kind=BlankMovement.Kind.TRANSFER_OUT).exists()
    assert stock_balance(personas.bdl_office) == 10


def test_receipts_and_spoiled_blanks_read_thousands_and_say_how_many(personas, client):
    client.force_login(personas.bdl_admin)
    with translation.override("id"):
        page = client.post(
            "/suket/stok/",
            {"action": "receive", "kantor": "18.71", "r-count": "2.500", "r-batch": "B9"},
            follow=True,
        )
        assert stock_balance(personas.bdl_office) == 2500
        message = str(next(iter(page.context["messages"])))
        assert "2.500" in message and "B9" in message and "Kota Bandar Lampung" in message
        page = client.post(
            "/suket/stok/",
            {"action": "spoil", "kantor": "18.71", "s-count": "1.000", "s-reason": "Lembab"},
            follow=True,
        )
    assert stock_balance(personas.bdl_office) == 1500
    message = str(next(iter(page.context["messages"])))
    assert "1.000" in message and "1.500" in message


def test_the_stock_page_renders_count_boxes_as_text(personas, client):
    client.force_login(personas.bdl_admin)
    html = client.get("/suket/stok/").content.decode()
    assert 'name="r-count"' in html
    box = html[html.index('name="r-count"') - 200 : html.index('name="r-count"') + 200]
    assert 'type="text"' in box and 'inputmode="numeric"' in box
