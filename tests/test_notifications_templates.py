"""Message texts: one family per message type, in Indonesian and English."""

import pytest

from rekam.notifications import texts


@pytest.mark.parametrize("language", texts.LANGUAGES)
@pytest.mark.parametrize("part", texts.PARTS)
def test_every_message_type_renders_every_part_with_its_sample(part, language):
    for fam in texts.families():
        text = texts.render(fam, part, language, fam.sample)
        assert text, (fam.name, part, language)
        assert "{{" not in text and "{%" not in text


def test_every_message_type_has_its_own_english_texts():
    for fam in texts.families():
        for part in texts.PARTS:
            assert (texts.MESSAGES_DIR / fam.name / "en" / f"{part}.txt").is_file()


def test_every_sample_has_every_required_field():
    for fam in texts.families():
        texts.check_data(fam, fam.sample)


def test_dates_are_written_in_the_messages_language():
    fam = texts.family("invitation")
    data = dict(fam.sample, starts_at="2020-12-09T08:30:00+07:00")
    assert "Rabu, 9 Desember 2020 pukul 08.30 WIB" in texts.render(fam, "sms", "id", data)
    assert "Wednesday 9 December 2020, 08:30 WIB" in texts.render(fam, "sms", "en", data)


def test_whatsapp_parameters_follow_the_template_order():
    fam = texts.family("suket_issued")
    params = texts.whatsapp_parameters(fam, "id", fam.sample)
    assert params == [
        "Siti Aminah",
        "474.4/0123/SKT/18.71/XII/2020",
        "31 Desember 2020",
        "Disdukcapil Kota Bandar Lampung",
    ]


def test_a_missing_required_field_is_refused():
    fam = texts.family("queue_ticket")
    with pytest.raises(ValueError, match="ticket"):
        texts.check_data(fam, {"name": "x", "place": "y", "day": "2020-12-09"})


def test_a_date_that_is_not_a_date_is_refused():
    fam = texts.family("card_printed")
    with pytest.raises(ValueError):
        texts.check_data(fam, dict(fam.sample, pickup_from="besok"))
