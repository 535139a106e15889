"""Commands: check (under construction)."""

COMMANDS: list = []
