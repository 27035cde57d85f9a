"""``python -m bench [NAME [options]]``: run one benchmark, or all of them with defaults."""

from __future__ import annotations

import importlib
import sys

# name -> module with ``main(argv: list[str]) -> int``
BENCHMARKS = {
    "antrean": "bench.antrean",
    "dashboard": "bench.dashboard",
    "import_registry": "bench.import_registry",
    "invitations": "bench.invitations",
    "suket": "bench.suket",
    "voters": "bench.voters",
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in {"-h", "--help"}:
        print(__doc__)
        print("benchmarks: " + ", ".join(BENCHMARKS))
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(BENCHMARKS[name]).main(rest))
    if argv:
        print(
            "options go after a benchmark's name: python -m bench NAME [options]", file=sys.stderr
        )
        return 2
    status = 0
    for module in BENCHMARKS.values():
        status |= int(importlib.import_module(module).main([]))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
