"""What the board says and shows: Indonesian number words from shipped clips, bounded data."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from rekam.antrean.queries import LAST_CALLS, board_data
from rekam.antrean.services import ticket_call_next, ticket_close, ticket_issue_walkin
from rekam.antrean.speech import CLIPS, call_clips, call_text, number_clips

from .test_antrean_support import WORKDAY, at, make_point

AUDIO = Path(settings.BASE_DIR) / "static" / "antrean" / "audio"


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, ["1"]),
        (10, ["sepuluh"]),
        (11, ["sebelas"]),
        (12, ["2", "belas"]),
        (20, ["2", "puluh"]),
        (47, ["4", "puluh", "7"]),
        (100, ["seratus"]),
        (115, ["seratus", "5", "belas"]),
        (310, ["3", "ratus", "sepuluh"]),
        (1001, ["seribu", "1"]),
    ],
)
def test_numbers_are_said_the_indonesian_way(n, words):
    assert number_clips(n) == words


def test_a_call_names_the_letter_the_number_and_the_counter():
    assert call_clips("A-012", 3) == ["chime", "nomor", "huruf-a", "2", "belas", "loket", "3"]
    assert call_text("B-105", 2) == "Nomor antrean be seratus lima silakan ke loket dua"


def test_every_clip_ships_with_the_project_and_they_stay_small():
    files = {p.stem: p.stat().st_size for p in AUDIO.glob("*.opus")}
    assert set(CLIPS) <= set(files)
    assert all(size > 500 for size in files.values())
    assert sum(files.values()) < 150 * 1024
    for name in CLIPS:
        assert (AUDIO / f"{name}.opus").read_bytes()[:4] == b"OggS"


@pytest.mark.django_db
def test_the_board_keeps_only_the_last_calls(personas):
    point = make_point(personas.bdl_office, counters=3)
    for minute in range(LAST_CALLS + 3):
        clock = at(WORKDAY, 9, minute * 5)
        ticket_issue_walkin(
            service_point=point, service="recording", acting_user=personas.bdl_queue, at=clock
        )
        called = ticket_call_next(
            service_point=point, counter=1, acting_user=personas.bdl_operator, at=clock
        )
        assert called is not None
        ticket_close(ticket=called, outcome="other", acting_user=personas.bdl_operator, at=clock)
    data = board_data(point, at(WORKDAY, 10))
    assert len(data["calls"]) == LAST_CALLS
    assert data["calls"][0]["label"] == f"A-{LAST_CALLS + 3:03d}"
    assert data["counters"][0] == {"counter": 1, "label": "", "service": ""}


def test_nobody_is_let_in_outside_the_sessions(personas):
    point = make_point(personas.bdl_office, counters=2, waiting_room_limit=20)
    ticket_issue_walkin(
        service_point=point,
        service="recording",
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9),
    )
    assert board_data(point, at(WORKDAY, 9, 30))["may_enter"] == 19
    assert board_data(point, at(WORKDAY, 7, 30))["may_enter"] == 0  # before opening
    assert board_data(point, at(WORKDAY, 16, 30))["may_enter"] == 0  # after closing
