"""Commands: targets (under construction)."""

COMMANDS: list = []
