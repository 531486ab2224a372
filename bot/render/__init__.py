"""Screens made from what a use case returned: words, keyboards and charts, built from the
content, shared by the handlers that show them (no handler imports another feature's)."""
