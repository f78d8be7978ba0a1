"""Run the benchmarks and print one JSON line per measurement."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
import importlib
import json
import os
import pkgutil
import sys
from typing import Protocol

import benchmarks
from benchmarks import Measurement


class Benchmark(Protocol):
    """What a benchmark module provides."""

    def run(self, *, quick: bool) -> Iterable[Measurement]:
        """Yield the module's measurements."""


def discover() -> list[str]:
    """Names of the benchmark modules (public modules of the package)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if not info.name.startswith("_")
    )


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one core (the last allowed one) while inside."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    core = max(allowed)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, allowed)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions (format check)"
    )
    parser.add_argument("modules", nargs="*", help="benchmark modules (default: all)")
    args = parser.parse_args(argv)
    available = discover()
    selected = args.modules or available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(available)}"
        )
    with one_core():
        for name in selected:
            module: Benchmark = importlib.import_module(f"benchmarks.{name}")
            for result in module.run(quick=args.quick):
                print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
