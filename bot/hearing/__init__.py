"""Hearing what she types: danger first, then a request in words, then the card that fits."""
