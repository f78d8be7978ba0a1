"""Browser tests: the demo in Debian's headless Chromium."""
