"""The catalog of diagnoses. Importing this package registers every rule.

Codes are stable, grouped by family:
  D1xx data, L2xx labels and targets, P3xx output/loss pairing, M4xx model,
  O5xx optimizer, K6xx legacy API, N7xx numerics during training, S8xx stalls,
  U9xx unit health (dead / saturated units).
"""

from __future__ import annotations

import traceback

from nanfix.findings import data, dynamics, labels, model, optimizer, pairing  # noqa: F401
from nanfix.findings.base import RULES, Context, Rule, finding, rule
from nanfix.results import Finding, Severity

SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def run(stage: str, context: Context) -> list[Finding]:
    """Run every rule of a stage; a detector that breaks is reported, never fatal."""
    found: list[Finding] = []
    for code, entry in sorted(RULES.items()):
        if entry.stage != stage:
            continue
        try:
            result = entry.detect(context)
        except Exception as error:  # noqa: BLE001 - one broken detector must not sink the report
            found.append(Finding(code="X000", title="A check could not run", severity=Severity.INFO,
                                 message=f"{code} ({entry.name}) failed: {type(error).__name__}: {error}",
                                 evidence={"traceback": traceback.format_exc(limit=3)}))
            continue
        if result is None:
            continue
        found.extend(result if isinstance(result, list) else [result])
    return found


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.code))


def get(code: str) -> Rule | None:
    return RULES.get(code.upper())


__all__ = ["RULES", "Context", "Rule", "finding", "rule", "run", "ordered", "get"]
