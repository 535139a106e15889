"""Commands: facts (under construction)."""

COMMANDS: list = []
