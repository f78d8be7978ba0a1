"""Tests of the Doorbell panel's backend and the dashboard card's registration."""
