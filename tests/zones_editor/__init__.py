"""Tests of the privacy zone editor: websocket commands, snapshot view, panel."""
