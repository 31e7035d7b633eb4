"""Findings: the catalog of diagnoses. Importing this package registers every rule.

Codes are stable, grouped by family, one module each:
  D1xx data values (arrays.py), L2xx labels and targets (labels.py), P3xx output/loss
  pairing (pairing.py), M4xx model (model.py), O5xx optimizer and K6xx legacy API
  (optimizer.py) are pre-flight: causes read before training. N7xx numerics (numerics.py),
  S8xx stalls (stalls.py) and U9xx unit health (units.py) are probe findings: symptoms
  measured on the baseline. O503 (optimizer.py) is the probe finding that measures a cause:
  the script's own train_step climbing its loss. Each rule has a fixture that fires it,
  tests/fixtures/findings/CODE.py.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import replace

from nanfix.findings import (  # noqa: F401 - importing registers the rules
    arrays,
    labels,
    model,
    numerics,
    optimizer,
    pairing,
    stalls,
    units,
)
from nanfix.findings.catalog import (
    RULES,
    Context,
    Line,
    Rule,
    data_problems,
    finding,
    rule,
    rule_of,
    verdict_symptoms,
    voiding,
    with_symptom,
)
from nanfix.records import Finding, Severity, Stage

BROKEN_CHECK = "X000"  # the code of "a check could not run"


def run(stage: Stage | str, context: Context) -> list[Finding]:
    """Run every rule of a stage, each with its own limits; a detector that breaks is
    reported, never fatal."""
    stage = Stage(stage)
    found: list[Finding] = []
    for code, entry in sorted(RULES.items()):
        if entry.stage is not stage:
            continue
        try:
            result = entry.detect(context.for_rule(entry))
        except Exception as error:  # noqa: BLE001 - one broken detector must not sink the report
            found.append(Finding(code=BROKEN_CHECK, title="A check could not run",
                                 severity=Severity.INFO, stage=stage,
                                 message=f"{code} ({entry.name}) failed: {type(error).__name__}: {error}",
                                 evidence={"traceback": traceback.format_exc(limit=3)}))
            continue
        if result is None:
            continue
        found.extend(result if isinstance(result, list) else [result])
    return found


def by_output(per_output: list[tuple[str, list[Finding]]]) -> list[Finding]:
    """One list from each output's findings: what every output found alike (the inputs, the
    optimizer: the same code with the same evidence) once, the rest marked with its output
    ("output 'size': targets span ...")."""
    def key(item: Finding) -> tuple[str, str | None, str]:
        return item.code, item.where, json.dumps(item.evidence, sort_keys=True, default=repr)

    shared = set.intersection(*({key(item) for item in found} for _, found in per_output))
    out = [item for item in per_output[0][1] if key(item) in shared]
    for name, found in per_output:
        for item in found:
            if key(item) not in shared:
                out.append(replace(item, message=f"output '{name}': {item.message}",
                                   evidence={**item.evidence, "output": name}))
    return out


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.order, f.code))


def get(code: str) -> Rule | None:
    return rule_of(code)


__all__ = ["BROKEN_CHECK", "RULES", "Context", "Line", "Rule", "data_problems", "finding", "get",
           "ordered", "rule", "rule_of", "run", "verdict_symptoms", "voiding", "with_symptom"]
