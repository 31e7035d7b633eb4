"""The catalog's building block: a rule with a stable code, like a linter's, and its registry.

Each rule is one small unit: its code, name, title, severity, stage, the explanation that
`nanfix explain CODE` prints, and the function that detects it. Rules live next to each
other by family (arrays.py, labels.py, pairing.py, model.py, optimizer.py, numerics.py,
stalls.py, units.py); adding one is one decorated function in one of those files. Which
fixes answer a finding is declared by the fix families (`nanfix.fixes`), once.

Example::

    @rule("D104", "unscaled-inputs", "Inputs far from unit scale", Severity.WARNING,
          stage=Stage.PREFLIGHT, explanation="Why it matters... how to fix it...")
    def unscaled_inputs(context):
        limit = context.settings.thresholds.input_scale_limit
        if context.x_max > limit:
            return finding("D104", f"inputs span 0..{context.x_max:g}", x_max=context.x_max)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nanfix.capture.training_data import first_array
from nanfix.records import Finding, ProbeResult, Severity, Stage


@dataclass
class Context:
    """What detectors look at. Pre-flight rules see no `baseline`; probe rules do."""

    model: Any
    optimizer: Any
    loss: Any
    task: Any  # nanfix.capture.task.Task
    data: Any  # nanfix.trainingdata.TrainingData
    settings: Any  # nanfix.config.Settings
    capture: Any = None  # nanfix.capture.hooks.Capture, or None for the explicit entry
    fit_steps: int | None = None  # how many steps the script's own fit trains (None: unknown)
    baseline: ProbeResult | None = None
    numerics: dict[str, Any] = field(default_factory=dict)  # from the numerics replay
    cache: dict[str, Any] = field(default_factory=dict)  # shared measurements

    def measure(self, name: str, compute: Callable[[], Any]) -> Any:
        """Compute an expensive statistic once for every rule that needs it."""
        if name not in self.cache:
            self.cache[name] = compute()
        return self.cache[name]

    @property
    def thresholds(self) -> Any:  # nanfix.config.Thresholds
        return self.settings.thresholds

    def x_array(self) -> np.ndarray | None:
        x = np.asarray(first_array(self.data.x))
        return x if np.issubdtype(x.dtype, np.number) else None

    def y_array(self) -> np.ndarray:
        return np.asarray(first_array(self.data.y))

    def optimizer_setting(self, name: str) -> float | None:
        """A number the optimizer was built with (beta_2, epsilon), or None."""
        try:
            return float(getattr(self.optimizer, name))
        except (AttributeError, TypeError, ValueError):
            return None

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
    stage: Stage
    explanation: str
    detect: Callable[[Context], Any]
    # An error of this rule makes the task itself meaningless (labels that are not labels, one
    # class left, targets the output cannot produce): a curve that looks fine then learns
    # nothing real, so the verdict can never be healthy (`voiding`).
    voids_task: bool = False
    # A probe rule that measures a cause rather than a symptom (`Finding.measured_cause`).
    measures_cause: bool = False

    def finding(self, message: str, where: str | None = None, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        return Finding(code=self.code, title=self.title, severity=severity or self.severity,
                       message=message, evidence=evidence, where=where, stage=self.stage,
                       measured_cause=self.measures_cause)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, title: str, severity: Severity, *, stage: Stage,
         explanation: str, voids_task: bool = False, measures_cause: bool = False):
    """Register the decorated detector as catalog entry `code`."""
    stage = Stage(stage)

    def register(detect: Callable[[Context], Any]) -> Callable[[Context], Any]:
        if code in RULES:
            raise ValueError(f"finding code {code} registered twice")
        RULES[code] = Rule(code, name, title, severity, stage, explanation.strip(), detect,
                           voids_task=voids_task, measures_cause=measures_cause)
        return detect

    return register


def finding(code: str, message: str, where: str | None = None, severity: Severity | None = None,
            **evidence: Any) -> Finding:
    """Build a Finding for a registered code (used inside detectors)."""
    return RULES[code].finding(message, where=where, severity=severity, **evidence)


def voiding(findings: list[Finding]) -> list[Finding]:
    """The error findings that make the task meaningless, whatever the curve shows."""
    return [item for item in findings if item.severity is Severity.ERROR
            and item.code in RULES and RULES[item.code].voids_task]
