"""Tests of the stream sources (tools/streams)."""
