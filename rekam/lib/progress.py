"""Progress bars for long commands (imports, simulations)."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


class ProgressBar(tqdm):  # type: ignore[type-arg]
    """A tqdm bar without tqdm's monitor thread.

    The monitor thread lives on after the bar closes, and a process with other threads must
    not fork (the registry import forks a reader process for large files).
    """

    monitor_interval = 0


def progress_bar(*, total: int | None, unit: str, enabled: bool) -> Any:
    """A bar on the terminal when ``enabled``, else one that does nothing."""
    return ProgressBar(
        total=total, unit=unit, disable=not enabled, mininterval=0.5, dynamic_ncols=True
    )
