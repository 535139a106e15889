"""armcheck: qualify ARM64 server firmware from its console."""

__version__ = "0.1.0"
