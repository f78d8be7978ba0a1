"""Tests of the automation blueprints, in a real Home Assistant core."""
