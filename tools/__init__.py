"""Developer tools for Peephole (not shipped with the integration)."""
