"""Tests of the privacy zone editor: websocket commands, panel, storage."""
