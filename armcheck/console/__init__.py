"""Transports to a board's console and the Console that drives them."""
