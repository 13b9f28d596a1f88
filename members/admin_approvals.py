"""Admin screens for conveners approving member editors' profile changes."""
