"""Commands: run (under construction)."""

COMMANDS: list = []
