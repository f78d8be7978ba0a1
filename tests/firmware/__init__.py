"""Tests for the ESPHome firmware and its security check."""
