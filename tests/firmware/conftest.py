"""Fixtures for the firmware tests: plain files, no Home Assistant instance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import textwrap

import pytest

REPO = Path(__file__).resolve().parents[2]
ESPHOME_DIR = REPO / "esphome"


def device_configs() -> list[Path]:
    """Return the shipped device files (top-level YAML in esphome/ but secrets)."""
    return sorted(
        path
        for path in ESPHOME_DIR.glob("*.yaml")
        if not path.name.startswith("secrets")
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite-wide autouse fixture: these tests need no hass."""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented YAML file below tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return _write
