"""Reports of check results: terminal text, JUnit XML and JSON."""

from __future__ import annotations

from armcheck.reports.json_report import write_json
from armcheck.reports.junit import write_junit
from armcheck.reports.terminal import print_terminal

__all__ = ["print_terminal", "write_json", "write_junit"]
