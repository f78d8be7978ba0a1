"""Tests for Peephole."""
