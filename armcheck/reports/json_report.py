"""The JSON report: the facts document, every result, and the totals."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from armcheck.facts import Facts
from armcheck.outputs import write_output_file
from armcheck.reports.text import count_statuses
from armcheck.results import CheckResult

log = logging.getLogger(__name__)


def build_json(
    facts: Facts, results: list[CheckResult], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the report document: `extra` keys, then `facts`, `results` and `totals`."""
    document: dict[str, Any] = dict(extra or {})
    document["facts"] = facts.to_json()
    document["results"] = [result.to_json() for result in results]
    document["totals"] = count_statuses(results)
    return document


def write_json(
    facts: Facts,
    results: list[CheckResult],
    path: str | os.PathLike[str],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the JSON report to `path`; `extra` adds top-level keys (target, profile, ...)."""
    document = build_json(facts, results, extra)
    # Undecodable console bytes are lone surrogates; escape them rather than fail the write.
    text = json.dumps(document, indent=2, ensure_ascii=True, default=str)
    write_output_file(path, text + "\n", "JSON report")
    log.info("wrote JSON report %s", path)
