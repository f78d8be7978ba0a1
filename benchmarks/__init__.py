"""Peephole benchmarks: ``python -m benchmarks [--quick] [MODULE ...]``.

Every public module of this package is a benchmark. It defines
``run(*, quick: bool) -> Iterable[Measurement]``; the runner imports each
module, runs it pinned to one CPU core and prints every measurement as one
JSON line ``{"name": ..., "value": ..., "unit": ...}``. To add a benchmark,
drop a module here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import statistics
import time
from typing import TypedDict


class Measurement(TypedDict):
    """One figure: a name unique across all benchmarks, a value, a unit."""

    name: str
    value: float
    unit: str


def measurement(name: str, value: float, unit: str) -> Measurement:
    """Build a measurement, rounding the value for readable output."""
    return {"name": name, "value": round(float(value), 4), "unit": unit}


def interleaved_medians(
    candidates: dict[str, Callable[[], object]], repetitions: int, warmup: int = 2
) -> dict[str, float]:
    """Time each candidate ``repetitions`` times, interleaved; return medians.

    One repetition runs every candidate once, in an order rotated per
    repetition, so drift (frequency scaling, other load) hits all alike.
    Medians are in seconds.
    """
    names: Sequence[str] = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repetitions):
        shift = rep % len(names)
        for name in [*names[shift:], *names[:shift]]:
            start = time.perf_counter()
            candidates[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}
