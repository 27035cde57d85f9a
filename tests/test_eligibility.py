from datetime import date

from rekam.residents.eligibility import age_on, is_first_time_voter, must_hold_ktp

POLLING_DAY = date(2020, 12, 9)


def test_age_counts_whole_years():
    assert age_on(date(2003, 12, 9), POLLING_DAY) == 17
    assert age_on(date(2003, 12, 10), POLLING_DAY) == 16


def test_seventeen_by_the_reference_date_must_hold_a_ktp():
    assert must_hold_ktp(birth_date=date(2003, 12, 9), marital_status="BELUM KAWIN", on=POLLING_DAY)
    assert not must_hold_ktp(
        birth_date=date(2003, 12, 10), marital_status="BELUM KAWIN", on=POLLING_DAY
    )


def test_a_married_sixteen_year_old_must_hold_a_ktp():
    assert must_hold_ktp(birth_date=date(2004, 6, 1), marital_status="KAWIN", on=POLLING_DAY)


def test_a_first_time_voter_turns_seventeen_by_polling_day():
    assert is_first_time_voter(
        birth_date=date(2003, 12, 9), marital_status="BELUM KAWIN", polling_day=POLLING_DAY
    )
    assert not is_first_time_voter(
        birth_date=date(2003, 12, 10), marital_status="BELUM KAWIN", polling_day=POLLING_DAY
    )


def test_someone_who_could_vote_five_years_earlier_is_not_a_first_time_voter():
    assert not is_first_time_voter(
        birth_date=date(1998, 12, 9), marital_status="BELUM KAWIN", polling_day=POLLING_DAY
    )
    assert is_first_time_voter(
        birth_date=date(1998, 12, 10), marital_status="BELUM KAWIN", polling_day=POLLING_DAY
    )
