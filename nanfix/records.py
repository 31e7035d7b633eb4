"""The plain records that flow through the pipeline: one probe of one seed, a probe over
seeds, a finding, a measured fix, and the report that holds them all.

They are dataclasses with no behaviour beyond summarising themselves, so every stage
(capture, findings, probe, fixes, sweep, report) can be tested on its own. Every outcome is
an explicit state (an Enum whose value is what the JSON report says), never a sentence to
match: rewording a message cannot change a verdict. `nanfix.report.serialize` turns them
into the JSON the worker hands to the parent; this module imports nothing of nanfix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

SCHEMA_VERSION = "nanfix.report/1"


class Named(str, Enum):
    """A state that prints as its value, in messages and f-strings alike ("multiclass")."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Outcome(str, Enum):
    """How one seed's probe ended: an explicit state, never a NaN in a float."""

    HEALTHY = "healthy"  # finite throughout and learning
    DIVERGED = "diverged"  # non-finite values, or the loss exploded
    STALLED = "stalled"  # finite but nothing learned (`SeedRun.stall` says how)
    CRASHED = "crashed"  # the training step raised
    TIMED_OUT = "timed_out"  # the time budget ran out before a verdict


class StallKind(str, Enum):
    """How a stalled seed failed to learn; probe findings choose their runs by it."""

    CONSTANT_PREDICTIONS = "constant_predictions"  # one class predicted for every sample
    CHANCE_LOSS = "chance_loss"  # the loss sits at the uniform guess, ln(classes)
    COLLAPSED = "collapsed"  # learned at first, then fell back to its starting loss
    ACCURACY_AT_CHANCE = "accuracy_at_chance"  # the loss fell, the accuracy did not rise
    NO_PROGRESS = "no_progress"  # the loss did not fall clearly within the budget
    MEAN_ONLY = "mean_only"  # a regression no better than predicting the targets' mean
    ONE_CLASS = "one_class"  # right every time by predicting one class: the targets hold one


class FixOutcome(str, Enum):
    """What a candidate fix did against the baseline, on the baseline's seeds and budget."""

    CURES = "cures"  # healthy and learning on every seed
    IMPROVES = "improves"  # fewer failed seeds, or a later failure, than the baseline
    FAILS = "fails"  # no better than the baseline (a hidden NaN that learns nothing included)


class Verdict(str, Enum):
    """The report's verdict on the script's training as it is."""

    HEALTHY = "healthy"
    DIVERGES = "diverges"
    STALLS = "stalls"
    ERROR = "error"  # no verdict on training could be given: `Report.error` says why


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def order(self) -> int:
        """Where findings of this severity sort: errors first."""
        return SEVERITY_ORDER[self]


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Symptom(str, Enum):
    """What a probe finding says happened to the training. Fix families choose their grids by
    it (a stall asks for a higher rate, a divergence a lower one)."""

    DIVERGENCE = "divergence"  # non-finite values, an explosion, weights or gradients blowing up
    STALL = "stall"  # finite, but nothing learned
    LATE_JUMP = "late_jump"  # converged, then the loss jumped back
    OSCILLATION = "oscillation"  # the loss swings around its trend without settling


class Stage(str, Enum):
    """When a finding is made, and so what it is: a cause read before training, or a
    symptom measured by the baseline probe."""

    PREFLIGHT = "preflight"  # read from the model, the compile settings and the data: a cause
    PROBE = "probe"  # measured on the baseline's curves and monitors: a symptom


class ErrorKind(str, Enum):
    """Why no verdict on training could be given; the exit code follows from it."""

    USAGE = "usage"  # the command line asked for something this script cannot do
    CONFIG = "config"  # a settings file nanfix cannot use
    DATA_CONFIG = "data_config"  # a dataset config (--data) nanfix cannot read
    SCRIPT_ERROR = "script_error"  # the script raised before fit
    SYNTAX_ERROR = "syntax_error"  # the script does not parse
    NO_FIT = "no_fit"  # the script finished without calling fit
    CUSTOM_LOOP = "custom_loop"  # the script trains with its own GradientTape loop
    NOT_COMPILED = "not_compiled"  # fit was reached without a loss
    NO_DATA = "no_data"  # the explicit entry gave no data
    DATA = "data"  # the data given to fit cannot be read
    TRAINING_FAILED = "training_failed"  # every probe of the training crashed
    CRASHED = "crashed"  # the process running the script died
    TIMEOUT = "timeout"  # the run passed the time limit
    MEMORY = "memory"  # the run passed the memory limit
    INTERNAL = "internal"  # a defect of nanfix itself

    @property
    def is_usage(self) -> bool:
        """The user's command line or configuration, not their script (exit 2)."""
        return self in (ErrorKind.USAGE, ErrorKind.CONFIG, ErrorKind.DATA_CONFIG)


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or Infinity: non-finite numbers travel as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def map_strings(value: Any, rewrite: Callable[[str], Any]) -> Any:
    """A report (or any part of one) with `rewrite` applied to every string in it: how a
    report about a generated script is told in the user's terms (a notebook's cells, a model
    in memory)."""
    if isinstance(value, str):
        return rewrite(value)
    if isinstance(value, dict):
        return {key: map_strings(item, rewrite) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, rewrite) for item in value]
    return value


def median(values: list[float | None]) -> float | None:
    """The median of the numbers present (None for non-finite values is skipped)."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    middle = len(present) // 2
    return present[middle] if len(present) % 2 else (present[middle - 1] + present[middle]) / 2


class NonFiniteKind(Named):
    """Which value of the training step was the first to stop being a finite number."""

    ACTIVATION = "activation"  # a layer's output, in the forward pass
    LOSS = "loss"
    GRADIENT = "gradient"  # in the backward pass
    WEIGHT = "weight"  # after the update


@dataclass
class NonFinite:
    """Where the first non-finite value appeared in one seed."""

    step: int
    kind: NonFiniteKind
    layer: str | None = None
    op: str | None = None  # the TensorFlow op that produced it, from the numerics replay
    stage: str | None = None  # "forward" | "loss" | "backward" | "update"
    origin: str | None = None  # "train.py:34", the user's line that created the layer

    def __post_init__(self) -> None:
        self.kind = NonFiniteKind(self.kind)

    def describe(self) -> str:
        where = f" in layer {self.layer}" if self.layer else ""
        op = f" (op {self.op})" if self.op else ""
        origin = f", created at {self.origin}" if self.origin else ""
        return f"non-finite {self.kind} at step {self.step}{where}{op}{origin}"


@dataclass
class Evaluation:
    """The model evaluated on the probe's evaluation batch (`Trainer.evaluate`)."""

    loss: float | None
    accuracy: float | None = None
    top_class_fraction: float | None = None  # the share of samples given the most common class
    prediction_spread: float | None = None
    head_losses: dict[str, float | None] = field(default_factory=dict)  # regression heads' own losses


@dataclass
class AdamState:
    """Adam's second moment against its epsilon at one step (`Trainer.adam_second_moment`)."""

    epsilon: float
    median_sqrt_v: float
    min_sqrt_v: float
    fraction_near_epsilon: float  # the share of parameters with sqrt(v_hat) < near_factor * epsilon
    near_factor: float
    step: int
    # the median |m_hat| / (sqrt(v_hat) + eps): 1 when each weight moves by a full rate
    median_step_multiplier: float | None = None
    update_to_weight: float | None = None  # the next step's norm against the weights' norm


@dataclass
class LateJump:
    """A late jump of the training loss (`probes.judge.LossWindow`), and Adam's state before it."""

    step: int
    loss: float  # the recent mean that jumped
    best: float
    first: float  # a fresh model's loss
    ratio: float
    adam_before: AdamState | None = None
    adam_step: int | None = None  # when `adam_before` was read (0: at the recorded start)


@dataclass
class Signals:
    """What a seed's probe measured for the probe rules, beyond its per-step curves: one typed
    record, so a rule reads a field the trainer is known to write, never a spelled key."""

    start_eval: Evaluation | None = None
    end_eval: Evaluation | None = None
    weight_growth: dict[str, float] = field(default_factory=dict)  # per layer: max norm / first
    grad_norm_first: float | None = None
    grad_norm_max: float | None = None
    exploded_at: int | None = None  # the step the loss passed explode_factor x its start
    constant_guess_loss: float | None = None  # a regression's loss when predicting the mean
    head_guess_losses: dict[str, float] = field(default_factory=dict)  # ... per regression head
    dead_relu: dict[str, float] = field(default_factory=dict)  # per layer: share of dead units
    saturation: dict[str, float] = field(default_factory=dict)  # per layer: share saturated
    adam: AdamState | None = None  # at the end of the probe
    adam_mid: AdamState | None = None  # half way, for the decay rate (N708)
    fresh_loss: float | None = None  # a fresh model's loss (a probe resumed from a record)
    late_jump: LateJump | None = None
    grad_rms_by_layer: list[tuple[str, float]] = field(default_factory=list)  # input side first
    update_alignment: float | None = None  # own train_step: cosine of its update and the gradient


@dataclass
class SeedRun:
    """One seed's probe: its per-step history and how it ended."""

    seed: int
    outcome: Outcome
    steps_run: int
    reason: str = ""
    stall: StallKind | None = None  # set when outcome is STALLED
    loss: list[float | None] = field(default_factory=list)
    grad_norm: list[float | None] = field(default_factory=list)
    weight_norm: dict[str, list[float | None]] = field(default_factory=dict)
    first_nonfinite: NonFinite | None = None
    start_loss: float | None = None
    final_loss: float | None = None
    best_loss: float | None = None
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    learned: bool = False
    signals: Signals = field(default_factory=Signals)  # what the probe rules read
    elapsed_s: float = 0.0
    traceback: str | None = None  # a crashed seed's, for --debug (not in the JSON runs)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.HEALTHY


@dataclass
class ProbeResult:
    """A configuration probed over several seeds with the same budget."""

    label: str
    runs: list[SeedRun]
    steps: int
    elapsed_s: float = 0.0

    @property
    def seeds(self) -> int:
        return len(self.runs)

    @property
    def seeds_ok(self) -> int:
        return sum(run.ok for run in self.runs)

    @property
    def failed_seeds(self) -> list[int]:
        return [run.seed for run in self.runs if not run.ok]

    def count(self, outcome: Outcome) -> int:
        return sum(run.outcome is outcome for run in self.runs)

    @property
    def first_nonfinite(self) -> NonFinite | None:
        """The earliest non-finite event over all seeds."""
        events = [run.first_nonfinite for run in self.runs if run.first_nonfinite]
        return min(events, key=lambda e: e.step) if events else None

    def median(self, attribute: str) -> float | None:
        return median([getattr(run, attribute) for run in self.runs])

    def summary(self) -> str:
        """One plain sentence: 'non-finite loss in 2/3 seeds, first at step 57 in layer dense_1'."""
        n = self.seeds
        diverged = self.count(Outcome.DIVERGED)
        stalled = self.count(Outcome.STALLED)
        crashed = self.count(Outcome.CRASHED) + self.count(Outcome.TIMED_OUT)
        parts = []
        if diverged:
            first = self.first_nonfinite
            if first:
                where = f" in layer {first.layer}" if first.layer else ""
                parts.append(
                    f"diverged in {diverged}/{n} seeds, first non-finite {first.kind} "
                    f"at step {first.step}{where}"
                )
            else:
                parts.append(f"loss exploded in {diverged}/{n} seeds")
        if stalled:
            parts.append(f"stalled in {stalled}/{n} seeds")
        if crashed:
            reason = next((run.reason for run in self.runs
                           if run.outcome in (Outcome.CRASHED, Outcome.TIMED_OUT)), "")
            parts.append(f"crashed or timed out in {crashed}/{n} seeds ({reason})")
        if not parts:
            parts.append(f"healthy and learning in {n}/{n} seeds")
        return "; ".join(parts)


@dataclass
class Finding:
    """One diagnosis from the catalog, with the evidence filled in."""

    code: str
    title: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # the fix families that answer it, in the order a sweep tries them: filled from the fix
    # catalog (`nanfix.fixes.link`), where each family declares the findings it answers
    fix_families: list[str] = field(default_factory=list)
    where: str | None = None  # "train.py:34" when a line of the user's script is to blame
    stage: Stage = Stage.PREFLIGHT
    # a probe finding that names why training fails, not what happened (the script's own
    # train_step climbing the loss is measured, yet it is the cause)
    measured_cause: bool = False

    def __post_init__(self) -> None:
        self.stage = Stage(self.stage)

    @property
    def is_cause(self) -> bool:
        """A pre-flight finding names why training fails; a probe finding says what happened,
        unless its rule measures a cause."""
        return self.stage is Stage.PREFLIGHT or self.measured_cause


@dataclass
class FixResult:
    """A candidate fix, probed on the baseline's seeds and budget."""

    id: str
    family: str  # for display: a combination's families joined ("pairing+input_scaling")
    title: str
    changes: list[str]
    outcome: FixOutcome
    seeds_ok: int
    seeds: int
    probe: ProbeResult | None = None
    rank: int = 0
    note: str = ""
    diff: str | None = None
    snippet: str | None = None
    data_fix: bool = False
    size: int = 1  # how many edits the change needs: smaller is preferred
    families: list[str] = field(default_factory=list)  # its family, or a combination's parts'
    # what a fix that edits the data does to the task: {"rows": [before, after], "classes":
    # [before, after]} (None: it leaves the data as it is)
    data_change: dict[str, list[int]] | None = None
    # a cure checked on its patched script (`nanfix.sweep.verify`): True when that script cured
    # on every seed, False when it did not (then it is no cure), None when not checked
    verified: bool | None = None

    def __post_init__(self) -> None:
        self.outcome = FixOutcome(self.outcome)  # "cures" from JSON is FixOutcome.CURES
        self.families = list(self.families) or [self.family]


@dataclass
class ErrorInfo:
    type: ErrorKind
    message: str
    where: str | None = None
    hint: str | None = None
    detail: str | None = None  # the traceback, shown with --debug

    def __post_init__(self) -> None:
        self.type = ErrorKind(self.type)


@dataclass
class Report:
    script: str
    verdict: Verdict
    argv: list[str] = field(default_factory=list)
    capture: dict[str, Any] = field(default_factory=dict)
    baseline: ProbeResult | None = None
    findings: list[Finding] = field(default_factory=list)
    fixes: list[FixResult] = field(default_factory=list)
    sweep: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    elapsed_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    script_output: str = ""  # the tail of what the user's script printed
    likely_cause: LikelyCause | None = None
    budget: dict[str, Any] | None = None  # the fix sweep's budget in probed steps, and its use
    # Why the verdict differs from what the curve shows (a task a finding calls meaningless).
    verdict_reason: str | None = None
    # Where the probes started when resumed (`--from`): the record, its step and trigger.
    resume: dict[str, Any] | None = None

    @classmethod
    def failed(cls, script: str, argv: list[str], settings: dict[str, Any], error: ErrorInfo,
               script_output: str = "") -> Report:
        """The report of a run that gave no verdict on training (the script failed, ...)."""
        return cls(script=script, argv=list(argv), verdict=Verdict.ERROR, error=error,
                   settings=settings, script_output=script_output)


@dataclass
class LikelyCause:
    """The finding the report names as the cause, and the measured cure that confirms it."""

    code: str
    title: str
    message: str
    confirmed_by: str | None = None  # the id of the fix that cured it


def plain(obj: Any) -> Any:
    """asdict() for our records with enums as their values."""
    if hasattr(obj, "__dataclass_fields__"):
        obj = asdict(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {key: plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(value) for value in obj]
    if isinstance(obj, float):
        return finite_or_none(obj)
    return obj
