"""Fake providers for tests and benchmarks: real HTTP servers on 127.0.0.1."""

from .server import FakeServer, Recorded
from .sms import FakeSmsGateway
from .whatsapp import FakeWhatsApp

__all__ = ["FakeServer", "FakeSmsGateway", "FakeWhatsApp", "Recorded"]
