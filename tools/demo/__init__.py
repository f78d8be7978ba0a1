"""The Peephole demo: a real Home Assistant with the emulated doorbell, no hardware."""
