from datetime import date

import pytest

from rekam.lib.nik import NikError, clean_kk, make_nik, mask_nik, parse_nik


def test_it_reads_a_male_nik():
    info = parse_nik("1871011705900001")
    assert info.regency_code == "18.71"
    assert info.district_code == "18.71.01"
    assert info.birth_date == date(1990, 5, 17)
    assert info.sex == "L"
    assert info.serial == 1
    assert info.warnings == ()


def test_it_reads_a_female_nik_with_day_plus_40():
    info = parse_nik("1871015705900002")
    assert info.sex == "P"
    assert info.birth_date == date(1990, 5, 17)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("187101170590000", "length"),
        ("18710117059000012", "length"),
        ("1871011713900001", "month"),
        ("1871013205900001", "day"),
        ("1871017205900001", "day"),
        ("1871013102900001", "date"),
        ("1871011705900000", "serial"),
        ("1.87101E+15", "scientific"),
        ("1,87101E+15", "scientific"),
        (1.87101e15, "scientific"),
        ("18710117O5900001", "not_digits"),
        ("", "empty"),
        ("0071011705900001", "region"),
    ],
)
def test_it_rejects_bad_niks_with_a_reason(raw, code):
    with pytest.raises(NikError) as err:
        parse_nik(raw)
    assert err.value.code == code
    assert err.value.message


@pytest.mark.parametrize(
    "raw", ["'1871011705900001", "1871 0117 0590 0001", "18.71.01.170590.0001"]
)
def test_it_cleans_spaces_dots_and_apostrophes(raw):
    assert parse_nik(raw).nik == "1871011705900001"


def test_an_unknown_kecamatan_is_only_a_warning():
    info = parse_nik("1899011705900001", known_districts={"187101"})
    assert any("bukan kecamatan saat ini" in w for w in info.warnings)


def test_the_birth_date_on_record_resolves_the_century():
    assert parse_nik("1871011705200001", birth_date=date(1920, 5, 17)).birth_date == date(
        1920, 5, 17
    )
    assert parse_nik("1871011705200001", today=date(2026, 1, 1)).birth_date == date(2020, 5, 17)


def test_a_disagreeing_birth_date_or_sex_is_a_warning():
    info = parse_nik("1871011705900001", birth_date=date(1990, 5, 18), sex="P")
    assert len(info.warnings) == 2


def test_29_february_of_1900_is_impossible_but_2000_is_fine():
    assert parse_nik("1871012902000001", today=date(2026, 1, 1)).birth_date == date(2000, 2, 29)
    with pytest.raises(NikError):
        parse_nik("1871012902000001", birth_date=date(1900, 2, 28))


def test_make_nik_round_trips():
    nik = make_nik("18.01.04", date(2003, 12, 9), "P", 42)
    info = parse_nik(nik)
    assert (info.birth_date, info.sex, info.serial) == (date(2003, 12, 9), "P", 42)


def test_public_pages_never_show_the_whole_nik():
    assert mask_nik("1871011705900001") == "187101********01"


def test_kk_numbers_are_checked():
    assert clean_kk("1871010101200003") == "1871010101200003"
    with pytest.raises(NikError):
        clean_kk("1871010113200003")
