"""Budgets and thresholds: how long to probe, and where measuring turns into judging.

Detectors measure (monitors.py); the numbers here decide what counts as an explosion, a
stall or a cure, so CI can tune them without touching a detector. Values come from, in
increasing precedence: these defaults, `[tool.nanfix]` in the nearest pyproject.toml above
the script, `--config FILE`, and command-line flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Thresholds:
    # A seed diverged when its loss exceeds this multiple of its starting loss.
    explode_factor: float = 100.0
    # A seed learned when its evaluation loss fell by at least this fraction...
    learn_loss_drop: float = 0.10
    # ...and, for classifiers, its accuracy rose this fraction of the way from chance to 1.
    learn_accuracy_gain: float = 0.10
    # Loss within this relative distance of the uniform-guess loss is "at chance".
    chance_tolerance: float = 0.03
    # Weights whose norm grew by this factor during the probe are "growing".
    weight_growth_factor: float = 50.0
    # Fraction of dead ReLU units (zero for a whole batch) worth a warning.
    dead_relu_fraction: float = 0.5
    # Fraction of saturated sigmoid/tanh outputs worth a warning.
    saturation_fraction: float = 0.5
    # Adam: sqrt(v_hat) within this factor of epsilon counts as collapsed.
    adam_v_epsilon_factor: float = 10.0
    # Adam: fraction of parameters whose sqrt(v_hat) collapsed toward epsilon worth a warning.
    adam_v_collapsed_fraction: float = 0.25


@dataclass
class Settings:
    seeds: int = 3
    steps: int = 300
    time_limit: float = 300.0  # seconds for the whole run, TensorFlow start included
    max_samples: int = 20000  # rows of training data taken from what the script passed to fit
    eval_samples: int = 1024
    batch_size: int | None = None  # override the script's batch size
    memory_limit_mb: int = 8192  # resident memory of the worker before it is stopped
    max_fixes: int = 24
    # Soft target for the fix sweep in seconds: a heavier model gets fewer candidates rather
    # than a slower report (None: nanfix's own target, sweep.SWEEP_SECONDS).
    sweep_seconds: float | None = None
    jobs: int = 1
    sweeps: bool = True
    fail_on: str = "diverges"  # for `check`: diverges | stalls | any
    families: list[str] | None = None  # fix families to try (None: all that apply)
    grids: dict[str, list[float]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "thresholds"}
        data["thresholds"] = {f.name: getattr(self.thresholds, f.name) for f in fields(Thresholds)}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        data = dict(data)
        thresholds = Thresholds(**data.pop("thresholds", {}))
        return cls(**data, thresholds=thresholds)
