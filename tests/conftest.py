"""Shared fixtures: Lampung's regions, its offices, and named personas for each role.

Personas: ``province_admin`` (Provinsi Lampung); ``bdl_admin``, ``bdl_supervisor``,
``bdl_operator``, ``bdl_queue`` (Kota Bandar Lampung, 18.71); ``lamsel_operator``
(Kabupaten Lampung Selatan, 18.01): the persona from another regency.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connections

from rekam.accounts.models import Office, Role, User
from rekam.accounts.services import offices_ensure_for_province, user_create
from rekam.regions.loader import load_province
from rekam.regions.models import Region
from rekam.web import ratelimit

PASSWORD = "uji-rahasia-123"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the regions once into the test database; ordinary tests roll back over them."""
    with django_db_blocker.unblock():
        load_province(Path(settings.REGION_DATA_DIR) / "lampung")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def import_reports_in_tmp(settings, tmp_path):
    """Imports run without a report path write their reports into the test's own folder, not
    into var/ that every run shares."""
    settings.IMPORT_REPORT_DIR = tmp_path / "import-reports"


@pytest.fixture(autouse=True)
def background_work_at_once(settings):
    """Work a page starts in the background runs before the test client's response returns,
    inside the test's transaction, so that a test reads its results at once
    (tests/test_web_background.py covers the thread)."""
    settings.BACKGROUND_IN_THREAD = False


@pytest.fixture(autouse=True)
def steady_rate_window(monkeypatch):
    """Rate limits count in fixed windows: a test that crossed a window's edge would see its
    count start again. The limiter's clock stands still instead; every test still starts with
    no count, the cache living in the test's database."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))


@pytest.fixture
def lampung(db) -> Region:
    """Lampung's regions, loaded once per database (transactional tests flush them)."""
    if not Region.objects.filter(code="18").exists():
        load_province(Path(settings.REGION_DATA_DIR) / "lampung")
    return Region.objects.get(code="18")


@dataclass
class Personas:
    province_office: Office
    bdl_office: Office
    lamsel_office: Office
    province_admin: User
    bdl_admin: User
    bdl_supervisor: User
    bdl_operator: User
    bdl_queue: User
    lamsel_operator: User


@pytest.fixture
def personas(lampung) -> Personas:
    offices = {o.code: o for o in offices_ensure_for_province(province_code="18")}

    def make(username: str, role: str, office_code: str) -> User:
        return user_create(
            username=username, password=PASSWORD, role=role, office=offices[office_code]
        )

    return Personas(
        province_office=offices["18"],
        bdl_office=offices["18.71"],
        lamsel_office=offices["18.01"],
        province_admin=make("prov_admin", Role.PROVINCE_ADMIN, "18"),
        bdl_admin=make("bdl_admin", Role.REGENCY_ADMIN, "18.71"),
        bdl_supervisor=make("bdl_supervisor", Role.SUPERVISOR, "18.71"),
        bdl_operator=make("bdl_operator", Role.OPERATOR, "18.71"),
        bdl_queue=make("bdl_queue", Role.QUEUE_OFFICER, "18.71"),
        lamsel_operator=make("lamsel_operator", Role.OPERATOR, "18.01"),
    )


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium driven by Playwright; skipped without it, unless CI requires it."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("REKAM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REKAM_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the live server's database work
    # happens in its own thread, so Django's async-safety guard does not apply here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections per context
            # (asgiref treats the thread as async): close the test body's ones here, or they
            # outlive the test and block dropping the PostgreSQL test database.
            connections.close_all()
