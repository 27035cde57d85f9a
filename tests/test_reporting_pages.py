"""The dashboard's pages and downloads: what each persona gets, and refusals."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.test import Client

from rekam.accounts.models import User

from .test_reporting_figures import province  # noqa: F401  (the fixture)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_home_redirects_to_the_next_election(province, personas):  # noqa: F811
    election, _ = province
    response = client_for(personas.province_admin).get("/dasbor/")
    assert response.status_code == 302 and response["Location"] == f"/dasbor/{election.slug}/"


def test_the_province_page_shows_every_regency_and_the_pictures(province, personas):  # noqa: F811
    election, _ = province
    response = client_for(personas.province_admin).get(f"/dasbor/{election.slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-code="18.71"' in page and 'data-code="18.01"' in page
    assert 'class="dash-map"' in page and 'class="dash-bars"' in page
    assert 'class="dash-progress"' in page
    assert "Dasbor" in page  # Indonesian by default
    table = response.context["table"]
    assert [(row.code, values["voters"]) for row, values in table] == [("18.01", 2), ("18.71", 6)]


def test_a_regency_starts_at_its_kecamatan_and_is_refused_elsewhere(province, personas):  # noqa: F811
    election, _ = province
    client = client_for(personas.bdl_admin)
    response = client.get(f"/dasbor/{election.slug}/")
    assert response.status_code == 200
    assert {row.code[:5] for row, _ in response.context["table"]} == {"18.71"}
    assert "18.01" not in {row.code for row, _ in response.context["table"]}
    refused = client.get(f"/dasbor/{election.slug}/?wilayah=18.01")
    assert refused.status_code == 403
    assert "luar wilayah kerja" in refused.content.decode()
    assert client.get(f"/dasbor/{election.slug}/unduh.csv?wilayah=18.01").status_code == 403
    assert client.get(f"/dasbor/{election.slug}/?wilayah=18.71.01").status_code == 200


def test_an_account_without_an_office_is_refused(province):  # noqa: F811
    election, _ = province
    nobody = User.objects.create_user("tanpa_kantor", password="x-123456789")
    response = client_for(nobody).get(f"/dasbor/{election.slug}/")
    assert response.status_code == 403
    assert "tidak berwenang" in response.content.decode()
    assert client_for(nobody).get("/dasbor/").status_code == 403


def test_bad_addresses_are_not_found(province, personas):  # noqa: F811
    election, _ = province
    client = client_for(personas.province_admin)
    assert client.get("/dasbor/no-such-election/").status_code == 404
    assert client.get(f"/dasbor/{election.slug}/?wilayah=18.71.01.1003").status_code == 404
    assert client.get(f"/dasbor/{election.slug}/?wilayah=abc").status_code == 404
    assert client.get(f"/dasbor/{election.slug}/unduh.pdf").status_code == 404


def test_the_downloads_hold_the_tables_figures(province, personas):  # noqa: F811
    election, _ = province
    client = client_for(personas.province_admin)
    text = client.get(f"/dasbor/{election.slug}/unduh.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    voters = header[2]
    assert voters == "Pemilih (DPT)"
    assert by_code["18.71"][voters] == "6" and by_code["18.01"][voters] == "2"
    assert by_code[""]["Wilayah"] == "Jumlah" and by_code[""][voters] == "8"
    assert "Blangko tersedia" in header  # the office columns at regency/city level

    xlsx = client.get(f"/dasbor/{election.slug}/unduh.xlsx?wilayah=18.71")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "Blangko tersedia" not in table[0]  # kecamatan rows have no office figures
    kedaton = next(r for r in table if r[0] == "18.71.01")
    assert kedaton[2] == 6


@pytest.mark.parametrize("language,label", [("en", "Dashboard"), ("id", "Dasbor")])
def test_it_speaks_both_languages(province, personas, language, label):  # noqa: F811
    election, _ = province
    client = client_for(personas.province_admin)
    client.post("/i18n/setlang/", {"language": language})
    page = client.get(f"/dasbor/{election.slug}/").content.decode()
    assert f"<h1>{label}:" in page
