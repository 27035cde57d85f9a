"""Whose address a rate limit counts."""

from __future__ import annotations

from django.test import RequestFactory, override_settings

from rekam.web.ratelimit import client_ip


def test_without_a_proxy_header_the_socket_address_counts():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.9"


@override_settings(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
def test_a_forged_first_entry_is_not_believed():
    # The client sent "1.2.3.4"; the proxy appended the address it saw.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == "203.0.113.7"


@override_settings(CLIENT_IP_HEADER="HTTP_X_REAL_IP")
def test_a_single_address_header_is_used_as_it_is():
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.7")
    assert client_ip(request) == "203.0.113.7"


def test_a_refusal_knows_when_its_window_ends(monkeypatch):
    from types import SimpleNamespace

    from rekam.web import ratelimit

    # 1_800_000_000 is the start of a 15-minute window; 70 s later, 830 s are left of it.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_070.5))
    assert ratelimit.window_end(900) == 1_800_000_900
    assert ratelimit.seconds_left(900) == 830
    assert ratelimit.window_end(60) == 1_800_000_120
