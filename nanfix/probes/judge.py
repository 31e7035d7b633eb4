"""How a seed's probe ended: healthy, diverged, stalled (and how) or timed out.

`judge` turns one seed's measurements into an `Outcome` and, for a stall, a `StallKind`,
with the reason in plain words for the report. Every number it compares with is a named
threshold from `nanfix.config.Thresholds`; findings read the kind, never the sentence.

>>> import numpy as np
>>> from nanfix.capture.task import Activation, infer_output
>>> from nanfix.records import SeedRun
>>> task = infer_output(Activation.SOFTMAX, 10, "categorical_crossentropy", np.eye(10))
>>> run = SeedRun(seed=0, outcome=Outcome.HEALTHY, steps_run=300, start_loss=2.31,
...               final_loss=2.302, val_accuracy=0.1)
>>> outcome, stall, reason = judge(run, task, Thresholds(), exploded_at=None, timed_out=False)
>>> outcome.value, stall.value
('stalled', 'chance_loss')
>>> reason
'loss flat at chance level (2.3020 ~ ln(10) = 2.3026)'
"""

from __future__ import annotations

import math

from nanfix.config import Thresholds
from nanfix.records import Outcome, SeedRun, StallKind

# A seed cut by the deadline before this many steps has no verdict of its own.
MIN_STEPS_FOR_A_VERDICT = 10
# A late jump is judged on the mean of this many steps' training loss: one noisy batch is not one.
JUMP_WINDOW = 5
# A converged loss this many times above its best is rising toward a jump.
RISING_FACTOR = 10.0


def exploded(loss: float, reference: float, best: float, factor: float) -> bool:
    """The loss is `factor` times above both its start and its best so far."""
    scale = max(abs(reference), abs(best), 1e-8)
    return loss > reference + factor * scale and loss > factor * max(best, 1e-8)


def late_jump(recent: float, best: float, first: float, thresholds: Thresholds,
              factor: float | None = None) -> bool:
    """The loss had converged (its best at most `late_jump_converged` of `first`, a fresh
    model's loss) and then jumped: `recent` (a few steps' mean) is `late_jump_factor` times its
    best and at least `late_jump_floor` of the way back to `first`. A training loss can do this
    without a NaN and without exceeding where it started, which `exploded` needs."""
    if not first > 0 or best is None or recent is None:
        return False
    factor = thresholds.late_jump_factor if factor is None else factor
    return (best <= thresholds.late_jump_converged * first and recent > factor * max(best, 1e-30)
            and recent > thresholds.late_jump_floor * first)


class LossWindow:
    """A training loss watched for a late jump: the mean of its last `JUMP_WINDOW` steps
    (`recent`) against the best such mean so far and `first`, a fresh model's loss (the first
    full window's mean when none is given). NanGuard and the probe both watch through it."""

    def __init__(self, thresholds: Thresholds, first: float | None = None,
                 factor: float | None = None):
        self.thresholds, self.first, self.factor = thresholds, first, factor
        self.window: list[float] = []
        self.recent: float | None = None
        self.best = math.inf

    def add(self, loss: float) -> bool:
        """Add a step's loss; True when it makes a late jump (the best then stays as it was)."""
        self.window = [*self.window[-(JUMP_WINDOW - 1):], loss]
        if len(self.window) < JUMP_WINDOW:
            return False
        self.recent = sum(self.window) / JUMP_WINDOW
        if self.first is None:
            self.first = self.recent
        if late_jump(self.recent, self.best, self.first, self.thresholds, factor=self.factor):
            return True
        self.best = min(self.best, self.recent)
        return False

    @property
    def converged(self) -> bool:
        return self.first is not None and self.best <= self.thresholds.late_jump_converged * self.first

    @property
    def rising(self) -> bool:
        """Converged, and the recent mean more than `RISING_FACTOR` above its best: the state
        is no longer one to keep (the recorder's snapshot, the probe's Adam evidence)."""
        return self.converged and self.recent is not None and \
            self.recent > RISING_FACTOR * max(self.best, 1e-30)


def learned(run: SeedRun, task, thresholds: Thresholds) -> tuple[bool, bool]:
    """(the evaluation loss fell enough, the accuracy rose enough above chance)."""
    start, final = run.start_loss, run.final_loss
    fresh = run.signals.fresh_loss
    if fresh is not None and start is not None and final is not None:
        # resumed from a recorded state: learned against a fresh model's loss, and kept what
        # the recorded run had learned (not more than `resume_keep` of the way back)
        loss_fell = final <= fresh - thresholds.learn_loss_drop * abs(fresh) and \
            final <= start + thresholds.resume_keep * max(fresh - start, 0.0)
        return loss_fell and not only_the_mean(run, thresholds), accuracy_learned(run.val_accuracy, task, thresholds)
    # strictly below: a loss that is 0 from the first step (a loss that cannot see the
    # targets) did not fall
    loss_fell = start is not None and final is not None and final < start and \
        final <= start - thresholds.learn_loss_drop * abs(start)
    return loss_fell and not only_the_mean(run, thresholds), accuracy_learned(run.val_accuracy, task, thresholds)


def only_the_mean(run: SeedRun, thresholds: Thresholds) -> bool:
    """A regression whose final loss is not `learn_regression_gain` below the loss of
    predicting its targets' best constant: it learned the mean, nothing of its inputs. For a
    model with several outputs, any regression head that did no better (`mean_only_heads`)."""
    guess = run.signals.constant_guess_loss
    return bool(guess is not None and run.final_loss is not None and
                run.final_loss > (1.0 - thresholds.learn_regression_gain) * guess) or \
        bool(mean_only_heads(run, thresholds))


def mean_only_heads(run: SeedRun, thresholds: Thresholds) -> list[tuple[str, float, float]]:
    """(head, its final loss, its constant-guess loss) for each regression output that learned
    only its targets' mean."""
    end = run.signals.end_eval
    out = []
    for head, guess in run.signals.head_guess_losses.items():
        loss = end.head_losses.get(head) if end is not None else None
        if loss is None or loss > (1.0 - thresholds.learn_regression_gain) * guess:
            out.append((head, loss, guess))
    return out


def accuracy_learned(accuracy: float | None, task, thresholds: Thresholds,
                     gain: float | None = None) -> bool:
    """A classifier's accuracy rose `gain` (default: learn_accuracy_gain) of the way from chance
    to 1; always true for a regression or when there is no accuracy to compare."""
    chance = getattr(task, "chance_accuracy", None)
    if task is None or not task.is_classification or chance is None or accuracy is None:
        return True
    share = thresholds.learn_accuracy_gain if gain is None else gain
    return accuracy >= chance + share * (1.0 - chance)


def judge(run: SeedRun, task, thresholds: Thresholds, exploded_at: int | None,
          timed_out: bool) -> tuple[Outcome, StallKind | None, str]:
    """The seed's outcome, its stall kind (for a stall) and the reason in plain words."""
    if run.first_nonfinite is not None:
        return Outcome.DIVERGED, None, run.first_nonfinite.describe()
    if exploded_at is not None:
        return (Outcome.DIVERGED, None,
                f"loss exploded at step {exploded_at} (over {thresholds.explode_factor:g}x its start)")
    jump = run.signals.late_jump
    if jump is not None:
        return (Outcome.DIVERGED, None,
                f"the loss jumped at step {jump.step} to {jump.loss:.3g}, {jump.ratio:.3g}x "
                f"its best {jump.best:.3g}, after it had converged (late jump)")
    if run.final_loss is None:
        return Outcome.DIVERGED, None, "the evaluation loss is not finite at the end of the probe"
    if timed_out and run.steps_run < MIN_STEPS_FOR_A_VERDICT:
        return Outcome.TIMED_OUT, None, f"the time limit ran out after {run.steps_run} steps"
    if one_class(run, task, thresholds):
        return Outcome.STALLED, StallKind.ONE_CLASS, stall_reason(StallKind.ONE_CLASS, run, task, thresholds)
    loss_fell, accuracy_ok = learned(run, task, thresholds)
    if loss_fell and accuracy_ok:
        return Outcome.HEALTHY, None, "finite and learning"
    stall = stall_kind(run, task, thresholds, loss_fell, accuracy_ok)
    return Outcome.STALLED, stall, stall_reason(stall, run, task, thresholds)


def one_class(run: SeedRun, task, thresholds: Thresholds) -> bool:
    """A classifier that predicts one class for (nearly) every sample and is (nearly) always
    right: the targets hold one class, so a falling loss and a perfect accuracy are no learning."""
    return bool(task is not None and task.is_classification and run.val_accuracy is not None
                and _top_class_fraction(run) >= thresholds.constant_prediction_share
                and run.val_accuracy >= thresholds.one_class_accuracy)


def _top_class_fraction(run: SeedRun) -> float:
    """The share of the evaluation samples the model gave its most common class (0 unknown)."""
    end = run.signals.end_eval
    return (end.top_class_fraction or 0.0) if end is not None else 0.0


def stall_kind(run: SeedRun, task, thresholds: Thresholds, loss_fell: bool,
               accuracy_ok: bool) -> StallKind:
    """Which way a finite seed failed to learn, the most specific first."""
    if task.is_classification and _top_class_fraction(run) >= thresholds.constant_prediction_share:
        return StallKind.CONSTANT_PREDICTIONS
    if task.at_chance_loss(run.final_loss, thresholds.chance_tolerance):
        return StallKind.CHANCE_LOSS
    if run.best_loss is not None and run.start_loss is not None and run.final_loss is not None:
        if run.best_loss < thresholds.collapse_best * run.start_loss and \
                run.final_loss > thresholds.collapse_return * run.start_loss:
            return StallKind.COLLAPSED
    if loss_fell and not accuracy_ok:
        return StallKind.ACCURACY_AT_CHANCE
    if only_the_mean(run, thresholds):
        return StallKind.MEAN_ONLY
    return StallKind.NO_PROGRESS


def stall_reason(stall: StallKind, run: SeedRun, task, thresholds: Thresholds) -> str:
    """The stall in plain words, with its numbers."""
    if stall is StallKind.CONSTANT_PREDICTIONS:
        return "the model predicts the same class for every sample"
    if stall is StallKind.ONE_CLASS:
        return (f"one class predicted for every sample, right {run.val_accuracy:.0%} of the time: "
                "the targets hold one class")
    if stall is StallKind.CHANCE_LOSS:
        return task.chance_loss_text(run.final_loss)
    if stall is StallKind.COLLAPSED:
        return "learned at first, then collapsed back to its starting loss"
    if stall is StallKind.ACCURACY_AT_CHANCE:
        return (f"loss fell but accuracy stayed near chance ({run.val_accuracy:.3f} vs "
                f"{task.chance_accuracy:.3f})")
    if stall is StallKind.MEAN_ONLY and run.signals.head_guess_losses:
        heads = mean_only_heads(run, thresholds)
        if heads:
            head, loss, guess = heads[0]
            shown = "not finite" if loss is None else f"{loss:.4g}"
            return (f"output '{head}': loss {shown} is no better than predicting its targets' mean "
                    f"({guess:.4g}): that head learned nothing from the inputs")
    if stall is StallKind.MEAN_ONLY:
        guess = run.signals.constant_guess_loss
        return (f"loss {run.final_loss:.4g} is no better than predicting the targets' mean "
                f"({guess:.4g}): nothing learned from the inputs")
    return "loss did not fall clearly below its start within the budget"
