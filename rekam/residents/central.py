"""The central system (SIAK) as Rekam sees it: a source of KTP-el state updates.

There is no public Dukcapil API, so states arrive through one interface with two
implementations: a file exported by SIAK (:class:`FileCentralSystem`) and a simulator that
advances recorded residents with realistic delays and failure rates (for the demo and tests).
An HTTP implementation can be added behind the same interface where an office has a service.
Whatever the source, :func:`apply_updates` applies the updates through the move table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StatusUpdate:
    """The central system says the record of ``nik`` reached ``state`` at ``at``."""

    nik: str
    state: str
    at: datetime
    line: int | None = None  # the source line, for reports on file imports


class CentralSystem(Protocol):
    """Anything that yields state updates; ``name`` labels the moves it causes."""

    name: str

    def updates(self) -> Iterable[StatusUpdate]: ...
