"""macsim stand-ins for macOS tools (test fixtures, see tests/macsim/README.md)."""
