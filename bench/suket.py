"""Suket benchmark: ``python -m bench.suket [--count N] [--verify N]``.

Measures on this machine, in one run, against a fresh SQLite database under ``var/bench/``:

- baseline: a bare render of the same one-page A4 PDF (same text) with a QR code of a random
  payload of the same size: no signing, no database;
- signed documents: the Suket chain without the database (CBOR payload, Ed25519 COSE signature,
  zlib, Base45, QR, PDF);
- bulk issuance: ``suket_issue`` end to end (decision stored, number taken under lock, PDF
  rendered and stored), the way ``rekam suket_issue`` re-issues in bulk;
- verification: QR texts checked per second by the offline verifier (signature, dates,
  revocation list).

Each result is printed with its ratio to the baseline. Goal: at least 100 Sukets/s and at least
0.5 of the baseline for bulk issuance.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "var" / "bench"


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def _child(count: int, verify_count: int) -> int:
    import django

    django.setup()
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.core.management import call_command

    from rekam.accounts.services import offices_ensure_for_province
    from rekam.elections.models import Election
    from rekam.lib.base45 import b45encode
    from rekam.lib.nik import make_nik
    from rekam.lib.pdf import render_certificate
    from rekam.regions.loader import load_province
    from rekam.regions.models import Level, Region
    from rekam.residents.models import Resident, name_key
    from rekam.residents.states import KtpState
    from rekam.suket.keys import office_key_active, private_key, published_keys
    from rekam.suket.services import (
        SuketContent,
        certificate_for,
        holder_data,
        render_suket,
        revocation_list_published,
        suket_issue_many,
    )
    from rekam.suket.verify import KeySet, RevocationList, verify_qr_text

    call_command("migrate", verbosity=0)
    load_province(Path(settings.REGION_DATA_DIR) / "lampung")
    offices = {o.code: o for o in offices_ensure_for_province(province_code="18")}
    office = offices["18.71"]
    office.head_name, office.head_nip = "Drs. Zainal Abidin, M.Si.", "196805121990031007"
    office.address = "Jl. Dr. Susilo No. 2, Sumur Batu, Teluk Betung Utara"
    office.save()
    election = Election.objects.create(
        name="Pemilihan Wali Kota dan Wakil Wali Kota Bandar Lampung Tahun 2020",
        slug="pilkada-2020",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    election.regions.add(Region.objects.get(code="18.71"))
    villages = list(
        Region.objects.filter(level=Level.VILLAGE, code__startswith="18.71.").select_related(
            "parent"
        )
    )
    residents = []
    for i in range(count):
        v = villages[i % len(villages)]
        assert v.parent is not None
        sex = "P" if i % 2 else "L"
        birth = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        name = f"Warga Uji {i:05d}"
        residents.append(
            Resident(
                nik=make_nik(v.parent.code, birth, sex, 1 + i // 500 * 0 + i % 9999),
                name=name,
                name_key=name_key(name),
                birth_place="Bandar Lampung",
                birth_date=birth,
                sex=sex,
                religion="ISLAM",
                occupation="Wiraswasta",
                village=v,
                regency_id="18.71",
                street=f"Jl. Raden Intan No. {i % 200 + 1}",
                rt=f"{i % 20 + 1:03d}",
                rw=f"{i % 9 + 1:03d}",
                ktp_state=KtpState.SENT_FOR_ENROLLMENT,
            )
        )
    Resident.objects.bulk_create(residents, batch_size=1000)
    residents = list(
        Resident.objects.select_related("village", "village__parent").order_by("id")[:count]
    )
    key = office_key_active(office)
    secret = private_key(key)
    at = datetime(2020, 12, 5, 10, tzinfo=ZoneInfo("Asia/Jakarta"))

    def content(i: int) -> SuketContent:
        return SuketContent(
            office=office,
            election=election,
            number=f"470/{i + 1:04d}/SKT-KTP/18.71/2020",
            uid=os.urandom(8),
            holder=holder_data(residents[i]),
            reason="BELUM_PRR",
            issued_on=at.date(),
            valid_until=election.suket_valid_until,
            signer_name=office.head_name,
            signer_nip=office.head_nip,
        )

    contents = [content(i) for i in range(count)]
    sample_text, _ = render_suket(contents[0], key, secret)
    payload_size = len(sample_text) - 4  # same QR size: random Base45 text of the same length

    # Baseline: the same page and an unsigned QR of the same size, no database.
    bare_docs = []
    for c in contents:
        noise = b45encode(os.urandom(payload_size * 2 // 3 + 1))[:payload_size]
        bare_docs.append(certificate_for(c, "RK1:" + noise))

    # Rounds alternate between the three so that a busy neighbour on the machine slows all
    # three alike instead of skewing one ratio.
    rounds = 5
    step = -(-count // rounds)
    spent = {"bare": 0.0, "signed": 0.0, "bulk": 0.0}
    texts: list[str] = []
    issued = 0
    for start in range(0, count, step):
        part = slice(start, start + step)
        t = time.perf_counter()
        for doc in bare_docs[part]:
            render_certificate(doc)
        spent["bare"] += time.perf_counter() - t
        t = time.perf_counter()
        texts += [render_suket(c, key, secret)[0] for c in contents[part]]
        spent["signed"] += time.perf_counter() - t
        t = time.perf_counter()
        results = suket_issue_many(residents=residents[part], election=election, at=at)
        spent["bulk"] += time.perf_counter() - t
        issued += sum(r.issued for r in results)
    assert issued == count, f"only {issued} of {count} issued"
    bare = _rate(count, spent["bare"])
    signed = _rate(count, spent["signed"])
    bulk = _rate(count, spent["bulk"])

    keys = KeySet.from_published(published_keys())
    revoked = RevocationList.from_published(revocation_list_published())
    now = datetime(2020, 12, 9, 8, tzinfo=ZoneInfo("Asia/Jakarta"))
    sample = [texts[i % len(texts)] for i in range(verify_count)]
    t = time.perf_counter()
    ok = sum(verify_qr_text(s, keys=keys, revoked=revoked, now=now).ok for s in sample)
    verified = _rate(verify_count, time.perf_counter() - t)
    assert ok == verify_count

    print(f"suket: {count} documents, QR text {len(sample_text)} characters, SQLite")
    print(f"  baseline (bare PDF + unsigned QR)     {bare:8.1f} /s   ratio 1.00")
    print(f"  signed Suket documents (no database)  {signed:8.1f} /s   ratio {signed / bare:.2f}")
    print(f"  bulk issuance (suket_issue_many)      {bulk:8.1f} /s   ratio {bulk / bare:.2f}")
    print(
        f"  offline verification                  {verified:8.1f} /s   ratio {verified / bare:.2f}"
    )
    goal = bulk >= 100 and bulk / bare >= 0.5
    print(f"  goal (>= 100/s and >= 0.5 of baseline): {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suket", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="Sukets to render and issue")
    parser.add_argument("--verify", type=int, default=5000, help="QR texts to verify")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.count, args.verify)
    # A fresh database of its own, in a separate process so no configured database is touched.
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "suket.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", DJANGO_SETTINGS_MODULE="rekam.settings")
    cmd = [sys.executable, "-m", "bench.suket", "--child", "--count", str(args.count)]
    cmd += ["--verify", str(args.verify)]
    return subprocess.run(cmd, env=env, cwd=PROJECT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
