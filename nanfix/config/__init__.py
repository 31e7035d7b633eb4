"""Budgets and thresholds: how long to probe, and where measuring turns into judging.

The trainer and the detectors measure; the numbers here decide what counts as an explosion,
a stall or a cure (the judging every stage shares), so CI can tune them without touching a
detector. A limit that one rule alone judges by (how large "unscaled inputs" are) lives on
that rule (`nanfix.findings.catalog`), and `Settings.rules` holds the user's overrides of
them, by rule code. Values come from, in increasing precedence: these defaults,
`[tool.nanfix]` in the nearest pyproject.toml above the script, `--config FILE`, `--plan FILE`
and command-line flags (`nanfix.config.sources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass
class Thresholds:
    # A seed diverged when its loss exceeds this multiple of its starting loss.
    explode_factor: float = 100.0
    # A seed learned when its evaluation loss fell by at least this fraction...
    learn_loss_drop: float = 0.10
    # ...and, for classifiers, its accuracy rose this fraction of the way from chance to 1.
    learn_accuracy_gain: float = 0.10
    # ...and, for regressions with a squared or absolute error, its loss ended at least this
    # fraction below the loss of predicting the best constant (R² of 0.1 for squared error):
    # learning only the targets' mean is not learning.
    learn_regression_gain: float = 0.10
    # Loss within this relative distance of the uniform-guess loss is "at chance".
    chance_tolerance: float = 0.03
    # Adam: the probe measures the share of parameters whose sqrt(v_hat) is within this factor
    # of epsilon (the evidence N706 and N708 judge).
    adam_v_epsilon_factor: float = 10.0
    # A late jump: after the training loss had converged (its best at most `late_jump_converged`
    # of a fresh model's loss), it rose `late_jump_factor` times above that best and came back
    # at least `late_jump_floor` of the way to the fresh loss (seed003: 0.69 fell to 1e-9, then
    # jumped to 0.07). No NaN needs to appear: the loss plateaus high.
    late_jump_factor: float = 1000.0
    late_jump_converged: float = 0.01
    late_jump_floor: float = 0.001
    # A probe resumed from a recorded state kept what the recorded run had learned when its
    # final loss is at most this share of the way back from the resumed loss to a fresh model's.
    resume_keep: float = 0.5
    # A classifier predicting one class for this share of the samples "predicts one class".
    constant_prediction_share: float = 0.95
    # ...and one that does so with at least this accuracy learned nothing: its targets hold
    # (almost) one class, so the loss and the accuracy mean nothing.
    one_class_accuracy: float = 0.99
    # A stall "learned, then collapsed" when its best loss fell below this fraction of its
    # start and its final loss came back above `collapse_return` of its start.
    collapse_best: float = 0.7
    collapse_return: float = 0.95
    # Sweep: a candidate that did not learn on its first seed still earns more seeds when its
    # loss fell below this fraction of its start and, for classifiers, its accuracy got this
    # share of the way from chance to 1 (half the share that counts as learning).
    promising_loss_ratio: float = 0.9
    promising_accuracy_gain: float = 0.05
    # Ranking: fixes within this accuracy of the best, or this factor of its relative loss,
    # "trained about as well" (then the one answering the diagnosed cause goes first).
    near_best_accuracy: float = 0.05
    near_best_loss_ratio: float = 2.0
    # A fix keeps the task: it may drop rows that are invalid on their own (non-finite values)
    # and at most this share of the others, and never a class the labels hold in more than
    # `repair_class_rows` rows. One that would is not proposed, and cannot be a cure.
    repair_row_share: float = 0.01
    repair_class_rows: int = 5


@dataclass
class Settings:
    seeds: int = 3
    # Steps per seed: at most this many, and never more than the script's own fit would run
    # (its epochs x steps per epoch), but at least `min_steps`, which still shows a divergence.
    # A `steps` set on the command line or in a config is taken as it is.
    steps: int = 300
    min_steps: int = 100
    steps_follow_fit: bool = True
    time_limit: float = 300.0  # seconds for the whole run, TensorFlow start included
    max_samples: int = 20000  # rows of training data taken from what the script passed to fit
    eval_samples: int = 1024
    batch_size: int | None = None  # override the script's batch size
    memory_limit_mb: int = 8192  # resident memory of the worker before it is stopped
    max_fixes: int = 24
    # The fix sweep's budget in probed training steps (None: what nanfix.sweep.budget's
    # reference seconds buy at the model's modelled step cost). Never a clock: the same
    # settings give the same report on any machine.
    sweep_steps: int | None = None
    sweeps: bool = True
    # The seed of the script's own unseeded generators (`random`, NumPy's, `default_rng()`):
    # None lets each probe seed k draw under script seed k when the script draws its data at
    # random (the verdict is then over the draws a user would see); a number fixes one draw.
    script_seed: int | None = None
    # Check the top cures on their patched scripts (the diff applied to a copy, run to its fit
    # and probed on the same seeds): a fix whose patched script does not cure is no cure.
    verify_cures: bool = True
    # Where the fix sweep trains its candidates: "local" (in the worker, one at a time) or
    # "ray" (as Ray tasks: a Ray started here, or the cluster at `address`), on `workers`
    # Ray workers (None: one per CPU the cluster offers, at most MAX_RAY_WORKERS). The report
    # is the same; only its cost changes.
    executor: str = "local"
    # Train a probe's seeds side by side in one compiled step (`nanfix.probes.stack`) where
    # the model's step is dispatch-bound. Off by default: on the 2-core CPU a stacked step
    # costs half of its seeds' single steps, but tracing a copy per seed costs more than that
    # saves over a probe's few hundred steps; on a GPU, and for long probes, it pays.
    stack_seeds: bool = False
    address: str | None = None
    workers: int | None = None
    fail_on: str = "diverges"  # for `check`: diverges | stalls | any
    families: list[str] | None = None  # fix families to try (None: all that apply)
    grids: dict[str, list[float]] = field(default_factory=dict)
    # the user's overrides of rules' own limits: {"M404": {"factor": 0.5}} (by rule code)
    rules: dict[str, dict[str, float]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "thresholds"}
        data["thresholds"] = {f.name: getattr(self.thresholds, f.name) for f in fields(Thresholds)}
        return data

    def for_fit(self, fit_steps: int | None) -> Settings:
        """The settings for a script whose fit runs `fit_steps` steps: the probe horizon
        follows the user's own training, so a probe never trains longer than they do."""
        if not self.steps_follow_fit or not fit_steps:
            return self
        return replace(self, steps=min(self.steps, max(self.min_steps, fit_steps)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        data = dict(data)
        thresholds = Thresholds(**data.pop("thresholds", {}))
        return cls(**data, thresholds=thresholds)
