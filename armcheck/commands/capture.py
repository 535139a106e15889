"""Commands: capture (under construction)."""

COMMANDS: list = []
