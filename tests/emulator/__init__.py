"""Tests for the emulated ESPHome doorbell (tools/emulator)."""
