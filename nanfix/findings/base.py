"""The catalog's building block: a rule with a stable code, like a linter's.

Each rule is one small unit: its code, name, title, severity, the explanation that
`nanfix explain CODE` prints, the fix families that answer it, and the function that
detects it. Rules live next to each other by family (data.py, pairing.py, model.py,
optimizer.py, dynamics.py); adding one is one decorated function in one of those files.

Example::

    @rule("D104", "unscaled-inputs", "Inputs far from unit scale", Severity.WARNING,
          stage="preflight", fixes=("input_scaling",),
          explanation="Why it matters... how to fix it...")
    def unscaled_inputs(context):
        if context.x_max > 10:
            return finding("D104", f"inputs span 0..{context.x_max:g}", x_max=context.x_max)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nanfix.results import Finding, ProbeResult, Severity

STAGES = ("preflight", "probe")


@dataclass
class Context:
    """What detectors look at. Pre-flight rules see no `baseline`; probe rules do."""

    model: Any
    optimizer: Any
    loss: Any
    task: Any  # nanfix.task.Task
    data: Any  # nanfix.trainingdata.TrainingData
    settings: Any  # nanfix.config.Settings
    capture: Any = None  # nanfix.capture.Capture, or None for the explicit entry
    baseline: ProbeResult | None = None
    numerics: dict[str, Any] = field(default_factory=dict)  # from the numerics replay
    cache: dict[str, Any] = field(default_factory=dict)  # shared measurements

    def measure(self, name: str, compute: Callable[[], Any]) -> Any:
        """Compute an expensive statistic once for every rule that needs it."""
        if name not in self.cache:
            self.cache[name] = compute()
        return self.cache[name]

    def x_array(self) -> np.ndarray | None:
        from nanfix.trainingdata import first_array

        x = np.asarray(first_array(self.data.x))
        return x if np.issubdtype(x.dtype, np.number) else None

    def y_array(self) -> np.ndarray:
        from nanfix.trainingdata import first_array

        return np.asarray(first_array(self.data.y))

    def origin(self, key: str) -> str | None:
        if self.capture is None:
            return None
        return self.capture.origins.get(key)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    title: str
    severity: Severity
    stage: str
    explanation: str
    fixes: tuple[str, ...]
    detect: Callable[[Context], Any]

    def finding(self, message: str, where: str | None = None, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        return Finding(code=self.code, title=self.title, severity=severity or self.severity,
                       message=message, evidence=evidence, fix_families=list(self.fixes),
                       where=where)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, title: str, severity: Severity, *, stage: str,
         explanation: str, fixes: tuple[str, ...] = ()):
    """Register the decorated detector as catalog entry `code`."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")

    def register(detect: Callable[[Context], Any]) -> Callable[[Context], Any]:
        if code in RULES:
            raise ValueError(f"finding code {code} registered twice")
        RULES[code] = Rule(code, name, title, severity, stage, explanation.strip(), fixes, detect)
        return detect

    return register


def finding(code: str, message: str, where: str | None = None, severity: Severity | None = None,
            **evidence: Any) -> Finding:
    """Build a Finding for a registered code (used inside detectors)."""
    return RULES[code].finding(message, where=where, severity=severity, **evidence)
