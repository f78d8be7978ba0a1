"""Real stream sources for tests, benchmarks and the demo (no camera needed)."""
