"""Run a fake provider in its own process: ``python -m tests.fakes whatsapp|sms [--delay S]``.

Prints ``PORT <n>`` once listening and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import sys

from .sms import FakeSmsGateway
from .whatsapp import FakeWhatsApp


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes")
    parser.add_argument("kind", choices=["whatsapp", "sms"])
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    fake = (
        FakeWhatsApp(delay=args.delay)
        if args.kind == "whatsapp"
        else FakeSmsGateway(delay=args.delay)
    )
    with fake:
        print("PORT", fake.url.rsplit(":", 1)[1], flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
