"""The benchmark runner and the masking benchmark's output format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import interleaved_medians, measurement
from benchmarks.__main__ import discover, main, one_core

ROOT = Path(__file__).resolve().parents[2]


def test_quick_masking_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    assert main(["--quick", "masking"]) == 0
    if before is not None:
        assert os.sched_getaffinity(0) == before  # unpinned again
    lines = capsys.readouterr().out.splitlines()
    results = {r["name"]: r for r in map(json.loads, lines)}
    assert len(results) == len(lines)
    for res in ("800x600", "1600x1200"):
        for name, unit in [
            ("mask_ms", "ms"),
            ("mask_vs_pillow", "x"),
            ("mask_vs_lossless_transform", "x"),
            ("max_diff_outside_mask", "levels"),
        ]:
            result = results[f"{name}_{res}"]
            assert set(result) == {"name", "value", "unit"}
            assert result["unit"] == unit
            assert isinstance(result["value"], float)
        assert results[f"max_diff_outside_mask_{res}"]["value"] == 0
        assert 0.25 < results[f"mask_coverage_{res}"]["value"] < 0.45


def test_runner_discovery_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert "masking" in discover()
    with pytest.raises(SystemExit):
        main(["no_such_benchmark"])
    assert "unknown benchmark" in capsys.readouterr().err


def test_one_core_without_affinity_support(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    with one_core() as core:
        assert core is None


def test_helpers() -> None:
    calls: list[str] = []
    medians = interleaved_medians(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, warmup=1
    )
    assert set(medians) == {"a", "b"}
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert measurement("x", 1.234567, "ms") == {
        "name": "x",
        "value": 1.2346,
        "unit": "ms",
    }


def test_bench_script() -> None:
    script = ROOT / "scripts" / "bench"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert ".venv/bin/python" in text
    assert "-m benchmarks" in text
