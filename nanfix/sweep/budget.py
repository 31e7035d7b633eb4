"""The sweep's budget, counted in probed training steps: the same answer on any machine.

A budget in seconds made the ranked report depend on how busy the machine was: a slower
runner probed fewer candidates and ranked differently. The budget here is work: a number of
training steps the sweep may probe, chosen at the start from the model's cost per step and
the plan, and never from a clock. The cost of a step is modelled, not timed: a fixed
per-step overhead plus the step's floating-point operations, read from the model's layers
(`step_flops`), both in seconds of a reference 2-core CPU. So the same script, seeds and
settings give the same candidates, outcomes and ranking on an idle machine and on one twice
as slow; a heavier model gets fewer candidates rather than a slower report.

The halving spends it: candidates get their first seed while the first round has budget
left (about two thirds, and at least MIN_CANDIDATES), the survivors their other seeds with
what is left. `--time-limit` stays a hard deadline on top; when it cuts the sweep the report
says which planned candidates were not tried.

>>> from nanfix.records import Outcome, SeedRun
>>> budget = Budget(total=1000, steps=300)   # Budget.for_sweep(setup, settings) in the sweep
>>> budget.spend([SeedRun(seed=0, outcome=Outcome.HEALTHY, steps_run=300)])
>>> budget.left()
700
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nanfix.probes.cost import leaf_layers, step_flops
from nanfix.records import SeedRun

# What a sweep may spend, in seconds of the reference CPU (None: no limit but max_fixes): the
# whole ranked report of a small model in well under 30 s with TensorFlow's start.
REFERENCE_SECONDS: float | None = 20.0
# The reference CPU (2 cores, TensorFlow's CPU build): a step costs this much whatever its
# size (dispatch, the host transfer of the monitors) ...
STEP_OVERHEAD_S = 0.003
# ... plus its floating-point operations at this rate (small convolutions run near it) ...
REFERENCE_FLOPS = 3e9
# ... and each candidate costs this much once, for building its model and tracing its step.
CANDIDATE_OVERHEAD_S = 0.5
# Deep models cost more than their flops say: every weighted layer past the first
# FREE_LAYERS adds monitors to each step and graph to each trace (a stack of 20 sigmoid
# layers traces for ~10 s and steps at ~8 ms on the reference CPU).
FREE_LAYERS = 8
STEP_OVERHEAD_PER_LAYER_S = 0.0003
CANDIDATE_OVERHEAD_PER_LAYER_S = 0.45
MIN_CANDIDATES = 6  # however heavy the model, this many candidates get their first seed
FIRST_ROUND_SHARE = 0.65  # of the budget, for the candidates' first seeds


def extra_layers(model: Any) -> int:
    """Weighted layers past FREE_LAYERS: what makes a deep model's steps and traces dearer."""
    weighted = sum(1 for layer in leaf_layers(model) if layer.trainable_weights)
    return max(0, weighted - FREE_LAYERS)


def step_seconds(model: Any, batch_size: int) -> float:
    """One step's modelled cost, in seconds of the reference CPU."""
    return (STEP_OVERHEAD_S + STEP_OVERHEAD_PER_LAYER_S * extra_layers(model)
            + step_flops(model, batch_size) / REFERENCE_FLOPS)


def candidate_seconds(model: Any) -> float:
    """A candidate's modelled cost of building its model and tracing its step."""
    return CANDIDATE_OVERHEAD_S + CANDIDATE_OVERHEAD_PER_LAYER_S * extra_layers(model)


@dataclass
class Budget:
    """Probed steps the sweep may spend (`total`, None: unlimited) and has spent."""

    total: int | None
    steps: int  # steps per seed
    step_seconds: float = 0.0  # the modelled cost of one step, for the report
    candidate_seconds: float = CANDIDATE_OVERHEAD_S  # ... and of building and tracing a candidate
    spent: int = 0
    tried: list[str] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)
    cut_by_deadline: bool = False

    @classmethod
    def for_sweep(cls, setup: Any, settings: Any) -> Budget:
        """The budget for this model and these settings: `settings.sweep_steps` when set,
        else what REFERENCE_SECONDS buys at the model's modelled step cost."""
        cost = step_seconds(setup.model, setup.data.batch_size)
        build = candidate_seconds(setup.model)
        if settings.sweep_steps is not None:
            total = int(settings.sweep_steps)
        elif REFERENCE_SECONDS is None:
            total = None
        else:
            total = int(REFERENCE_SECONDS / cost)
        return cls(total=total, steps=settings.steps, step_seconds=cost, candidate_seconds=build)

    def spend(self, runs: list[SeedRun], new_candidate: bool = False) -> None:
        """Count the steps `runs` probed (and, for a new candidate, its build and trace, in
        steps of this model)."""
        self.spent += sum(max(0, run.steps_run) for run in runs)
        if new_candidate and self.step_seconds > 0:
            self.spent += int(self.candidate_seconds / self.step_seconds)

    def left(self) -> float:
        return math.inf if self.total is None else self.total - self.spent

    def first_round_open(self, tried: int) -> bool:
        """Whether another candidate gets its first seed."""
        if self.total is None or tried < MIN_CANDIDATES:
            return True
        return self.spent + self.steps <= FIRST_ROUND_SHARE * self.total

    def verifications(self, seeds: int) -> int | None:
        """How many candidates the budget left can verify on `seeds` more seeds (at least one)."""
        if self.total is None or seeds <= 0:
            return None
        return max(1, int(self.left() // (self.steps * seeds)))

    def describe(self) -> dict[str, Any]:
        """For the report: what the sweep could spend, spent, and what it did not try."""
        return {"steps": self.total, "spent": self.spent, "step_seconds": round(self.step_seconds, 6),
                "candidate_seconds": round(self.candidate_seconds, 3),
                "tried": len(self.tried), "not_tried": list(self.not_tried),
                "min_candidates": MIN_CANDIDATES, "complete": not self.cut_by_deadline}
