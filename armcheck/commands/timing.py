"""Commands: timing (under construction)."""

COMMANDS: list = []
