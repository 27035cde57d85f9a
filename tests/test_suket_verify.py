"""Signed QR texts: genuine ones pass; tampered, truncated, re-signed and expired ones fail in
the Python verifier, the JSON endpoint and ``rekam suket_verify``; printing a card revokes."""

from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import date, datetime, time, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone

from rekam.lib.base45 import b45decode
from rekam.lib.qr import qr_png
from rekam.lib.signing import cose_sign1, key_id, pack_text, public_key_raw, unpack_text
from rekam.residents.services import record_move
from rekam.residents.states import KtpState, MoveSource
from rekam.suket.keys import office_key_rotate, published_keys
from rekam.suket.services import revocation_list_published, suket_issue
from rekam.suket.stock import card_print
from rekam.suket.verify import (
    DICABUT,
    KEDALUWARSA,
    SAH,
    TIDAK_SAH,
    KeySet,
    RevocationList,
    verify_qr_text,
)

from .factories import make_resident
from .test_suket_support import JAKARTA, jakarta, make_pilkada, ready_office


@pytest.fixture
def issued(personas):
    """A Suket issued today for an election whose window is open now (for the live checks)."""
    ready_office(personas.bdl_office, blanks=0)
    today = timezone.localdate()
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = today + timedelta(days=3)
    election.suket_valid_until = today + timedelta(days=20)
    election.save()
    r = make_resident(ktp_state=KtpState.PRINT_READY_RECORD, name="Siti Aminah")
    result = suket_issue(resident=r, election=election, acting_user=personas.bdl_operator)
    assert result.suket is not None
    return result.suket


def _keys():
    return KeySet.from_published(published_keys())


def _offline(text, now=None):
    return verify_qr_text(
        text,
        keys=_keys(),
        revoked=RevocationList.from_published(revocation_list_published()),
        now=now or timezone.now(),
    )


def _parts(text):
    obj = cbor2.loads(unpack_text(text, prefix="RK1:"))
    protected, _unprotected, payload, signature = obj.value
    return protected, payload, signature


def tampered(text: str) -> str:
    """The same signature over a payload whose name was changed."""
    protected, payload, signature = _parts(text)
    data = dict(cbor2.loads(payload))
    data["nm"] = "BUDI PALSU"
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cbor2.dumps(data), signature]))
    return pack_text(forged, prefix="RK1:")


def truncated(text: str) -> str:
    return text[:-30]


def resigned_claiming_the_office_kid(text: str) -> str:
    _protected, payload, _sig = _parts(text)
    kid = bytes.fromhex(published_keys()[-1]["kid"])
    return pack_text(
        cose_sign1(payload, private_key=Ed25519PrivateKey.generate(), kid=kid), prefix="RK1:"
    )


def resigned_with_own_kid(text: str) -> str:
    _protected, payload, _sig = _parts(text)
    key = Ed25519PrivateKey.generate()
    kid = key_id(public_key_raw(key.public_key()))
    return pack_text(cose_sign1(payload, private_key=key, kid=kid), prefix="RK1:")


def flipped_character(text: str) -> str:
    body = text[4:]
    i = len(body) // 2
    return "RK1:" + body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1 :]


BAD = [
    tampered,
    truncated,
    resigned_claiming_the_office_kid,
    resigned_with_own_kid,
    flipped_character,
]


def test_a_genuine_suket_verifies_offline_as_sah(issued):
    verdict = _offline(issued.qr_text)
    assert verdict.status == SAH
    assert verdict.holder_name == "SITI AMINAH"
    assert verdict.masked_nik == issued.resident.nik[:6] + "********" + issued.resident.nik[14:]


@pytest.mark.parametrize("forge", BAD, ids=[f.__name__ for f in BAD])
def test_the_offline_verifier_rejects_a_forged_text(issued, forge):
    assert _offline(forge(issued.qr_text)).status == TIDAK_SAH


@pytest.mark.parametrize("forge", BAD, ids=[f.__name__ for f in BAD])
def test_the_json_endpoint_rejects_a_forged_text(issued, client, forge):
    response = client.post(
        "/verifikasi/periksa", {"qr": forge(issued.qr_text)}, content_type="application/json"
    )
    assert response.json()["status"] == TIDAK_SAH


@pytest.mark.parametrize("forge", BAD, ids=[f.__name__ for f in BAD])
def test_the_command_rejects_a_forged_text_with_exit_1(issued, forge):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("suket_verify", forge(issued.qr_text), stdout=out)
    assert exc.value.code == 1
    assert out.getvalue().startswith("TIDAK SAH")


def test_an_expired_suket_is_kedaluwarsa_in_all_three(issued, client, tmp_path):
    later = timezone.now() + timedelta(days=30)
    assert _offline(issued.qr_text, now=later).status == KEDALUWARSA
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("suket_verify", issued.qr_text, at=later.isoformat(), stdout=out)
    assert out.getvalue().startswith("KEDALUWARSA")
    # The online check uses the real clock: a Suket of the 2020 election has expired.
    old = issued
    old.election.suket_valid_until = date(2020, 12, 31)
    old.election.save()
    old_suket = suket_issue(
        resident=make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT),
        election=old.election,
        at=jakarta(2020, 12, 5),
    ).suket
    assert old_suket is not None
    old_text = old_suket.qr_text
    assert client.get("/verifikasi/periksa", {"qr": old_text}).json()["status"] == KEDALUWARSA


def test_the_command_exits_0_for_a_genuine_text(issued):
    out = io.StringIO()
    call_command("suket_verify", issued.qr_text, stdout=out)
    assert out.getvalue().startswith("SAH")
    assert issued.resident.nik not in out.getvalue()


def test_the_command_reads_an_image(issued, tmp_path):
    image = tmp_path / "suket.png"
    image.write_bytes(qr_png(issued.qr_text))
    out = io.StringIO()
    call_command("suket_verify", str(image), stdout=out)
    assert out.getvalue().startswith("SAH")


def test_the_command_verifies_with_published_files_only(issued, tmp_path):
    keys = tmp_path / "kunci.json"
    keys.write_text(json.dumps({"keys": published_keys()}))
    rev = tmp_path / "cabut.json"
    rev.write_text(json.dumps(revocation_list_published()))
    out = io.StringIO()
    call_command("suket_verify", issued.qr_text, keys=str(keys), revocations=str(rev), stdout=out)
    assert out.getvalue().startswith("SAH")


def test_the_json_endpoint_reads_an_uploaded_image(issued, client):
    upload = io.BytesIO(qr_png(issued.qr_text))
    upload.name = "foto.png"
    data = client.post("/verifikasi/periksa", {"gambar": upload}).json()
    assert data["status"] == SAH and data["name"] == "SITI AMINAH"
    assert data["nik"] == issued.resident.masked_nik


def test_printing_the_card_revokes_the_suket(issued, personas, client):
    blank_receive_one(personas)
    card_print(
        resident=issued.resident, card_serial="KTP0000001", acting_user=personas.bdl_operator
    )
    issued.refresh_from_db()
    assert issued.revoked_at is not None
    assert _offline(issued.qr_text).status == DICABUT
    data = client.get("/verifikasi/periksa", {"qr": issued.qr_text}).json()
    assert data["status"] == DICABUT


def test_a_card_printed_elsewhere_reported_by_siak_revokes_too(issued):
    record_move(
        resident=issued.resident,
        to_state=KtpState.CARD_PRINTED,
        source=MoveSource.CENTRAL,
        actor_label="siak-export.csv",
    )
    issued.refresh_from_db()
    assert issued.revoked_at is not None
    assert _offline(issued.qr_text).status == DICABUT


def test_the_revocation_list_is_compact_and_dated(issued, personas):
    blank_receive_one(personas)
    card_print(
        resident=issued.resident, card_serial="KTP0000002", acting_user=personas.bdl_operator
    )
    published = revocation_list_published()
    assert published["count"] == 1
    assert len(published["entries"]) == 12  # one 8-byte hash in base64
    assert RevocationList.from_published(published).generated_at is not None


def test_a_rotated_key_still_verifies_earlier_sukets(issued, personas):
    office_key_rotate(office=personas.bdl_office, acting_user=personas.bdl_admin)
    rows = [k for k in published_keys() if k["office"] == "18.71"]
    assert len(rows) == 2 and sum(1 for k in rows if k["retired_at"] is None) == 1
    assert _offline(issued.qr_text).status == SAH


def test_a_key_of_another_office_cannot_vouch_for_this_office(issued, personas):
    other = office_key_rotate(office=personas.lamsel_office)
    from rekam.suket.keys import private_key

    _protected, payload, _sig = _parts(issued.qr_text)
    text = pack_text(
        cose_sign1(payload, private_key=private_key(other), kid=bytes.fromhex(other.kid)),
        prefix="RK1:",
    )
    verdict = _offline(text)
    assert verdict.status == TIDAK_SAH and "kantor lain" in verdict.reason


def test_the_published_key_set_is_json_with_ids(issued, client):
    keys = client.get("/verifikasi/kunci.json").json()["keys"]
    assert keys and all(len(k["kid"]) == 16 and k["alg"] == "Ed25519" for k in keys)


def test_the_qr_text_is_small_enough_for_a_phone_camera(issued):
    # Version 12-M holds 419 alphanumeric characters: 65x65 modules, 0.65 mm each at 42 mm.
    assert len(issued.qr_text) <= 419
    assert len(b45decode(issued.qr_text[4:])) < 300


def blank_receive_one(personas):
    from rekam.suket.stock import blank_receive

    blank_receive(office=personas.bdl_office, count=1, batch="B-1")


def test_the_offline_verdict_names_the_election_and_the_lists_date(issued):
    published = revocation_list_published()
    verdict = _offline(issued.qr_text)
    assert verdict.election == "pilkada-2020"
    assert verdict.election_label == "Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020"
    generated = timezone.localtime(datetime.fromisoformat(published["generated_at"]))
    assert verdict.list_label == f"daftar pencabutan per {generated:%d-%m-%Y %H:%M} WIB"
    data = verdict.as_json()
    assert data["election_name"] == "Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020"
    assert data["revocation_list"].startswith("daftar pencabutan per ")


def test_without_the_elections_names_the_verdict_shows_the_slug(issued):
    rev = {k: v for k, v in revocation_list_published().items() if k != "elections"}
    verdict = verify_qr_text(
        issued.qr_text, keys=_keys(), revoked=RevocationList.from_published(rev), now=timezone.now()
    )
    assert verdict.status == SAH and verdict.election_label == "pilkada-2020"


def test_the_json_endpoint_names_the_election(issued, client):
    data = client.get("/verifikasi/periksa", {"qr": issued.qr_text}).json()
    assert (data["status"], data["election"]) == (SAH, "pilkada-2020")
    assert data["election_name"] == "Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020"


def test_the_command_prints_the_election_beside_the_verdict_and_the_lists_date(issued):
    out = io.StringIO()
    call_command("suket_verify", issued.qr_text, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "SAH - Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020"
    assert any(line.startswith("Diperiksa dengan daftar pencabutan per ") for line in lines)


def test_a_suket_is_valid_through_its_last_day_and_expired_the_day_after(issued):
    last = issued.valid_until
    on_last_day = datetime.combine(last, time(23, 59), tzinfo=JAKARTA)
    assert _offline(issued.qr_text, now=on_last_day).status == SAH
    assert _offline(issued.qr_text, now=on_last_day + timedelta(minutes=1)).status == KEDALUWARSA


def test_the_model_says_when_a_suket_has_expired(issued):
    assert (issued.is_expired, issued.status) == (False, "berlaku")
    assert not issued.has_expired(issued.valid_until)
    assert issued.has_expired(issued.valid_until + timedelta(days=1))
    issued.valid_until = timezone.localdate() - timedelta(days=1)
    assert (issued.is_expired, issued.status) == (True, "kedaluwarsa")
    issued.revoked_at = timezone.now()
    assert issued.status == "dicabut"


def _png_claiming(width: int, height: int) -> bytes:
    """A small, valid PNG whose header claims ``width`` x ``height`` pixels."""
    png = qr_png("RK1:X")
    ihdr = png[12:16] + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (_png_claiming(100_000, 100_000), "terlalu besar"),  # Pillow's own bomb error
        (_png_claiming(8_000, 8_000), "terlalu besar"),  # under Pillow's limit, over ours
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "tidak dapat dibaca"),
        (qr_png("RK1:X")[:60], "tidak dapat dibaca"),  # truncated pixel data
    ],
    ids=["bomb", "huge", "broken-header", "truncated"],
)
def test_an_unreadable_or_huge_upload_is_refused_not_a_server_error(client, db, image, reason):
    upload = io.BytesIO(image)
    upload.name = "foto.png"
    response = client.post("/verifikasi/periksa", {"gambar": upload})
    assert response.status_code == 400
    assert "gambar tidak dapat dibaca" in response.json()["error"]
    assert reason in response.json()["error"]


def test_the_command_says_an_unreadable_image_is_not_genuine(tmp_path, db):
    image = tmp_path / "bom.png"
    image.write_bytes(_png_claiming(100_000, 100_000))
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("suket_verify", str(image), stdout=out)
    assert out.getvalue().startswith("TIDAK SAH")
    assert "terlalu besar" in out.getvalue()
