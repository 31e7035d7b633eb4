"""The one line that says what was probed: the model, its optimizer, its loss and its task.

Every renderer prints it, so the words (and how several outputs read) live here once.
"""

from __future__ import annotations

from typing import Any

from nanfix.capture.task import TaskKind


def task_words(task: dict[str, Any]) -> str:
    """"multiclass (3 classes, softmax output)"; for several outputs each one's, by name."""
    if task.get("outputs"):
        heads = "; ".join(f"{head.get('name')}: {_one(head)}" for head in task["outputs"])
        return f"{len(task['outputs'])} outputs ({heads})"
    return _one(task)


def _one(task: dict[str, Any]) -> str:
    kind, activation = task.get("kind"), task.get("output_activation")
    if kind == TaskKind.MULTICLASS:
        return f"multiclass ({task.get('classes')} classes, {activation} output)"
    if kind == TaskKind.MULTILABEL:
        return f"multilabel ({task.get('classes')} labels, {activation} output)"
    if kind == TaskKind.REGRESSION:
        units = task.get("classes")
        return f"regression ({units} value{'s' if units != 1 else ''}, {activation} output)"
    return f"{kind} ({activation} output)"


def probed_line(capture: dict[str, Any], settings: str) -> str:
    """Model, optimizer, loss, task and whose train step ran, as one line."""
    model, optimizer = capture["model"], capture.get("optimizer") or {}
    step = f" · its own {model['train_step']}" if model.get("train_step") else ""
    return (f"{model['class']} with {model['params']:,} parameters · "
            f"{optimizer.get('class')}({settings}) · loss {capture.get('loss')} · "
            f"{task_words(capture.get('task') or {})}{step}")


def draws_line(capture: dict[str, Any]) -> str | None:
    """The line saying the script draws its data at random and each seed drew its own."""
    draws = (capture or {}).get("draws")
    if not draws:
        return None
    seeds = ", ".join(str(seed) for seed in draws["script_seeds"])
    return (f"The script draws its data at random: each seed drew its own (script seeds {seeds}; "
            "--script-seed N fixes one draw)")


TRIGGER_WORDS = {"loss_spike": "the loss jumped", "nonfinite_loss": "the loss became NaN/Inf",
                 "nonfinite_weight": "a weight became NaN/Inf"}


def resumed_line(resume: dict[str, Any]) -> str:
    """"Resumed from step 650 of the recorded run (the loss jumped at step 661, N707)"."""
    step = resume.get("step")
    if resume.get("kind") == "checkpoint" or step is None:
        line = f"Resumed from the checkpoint {resume.get('from')}"
    elif step == 0:
        line = "Resumed from the start of the recorded fit"
    else:
        line = f"Resumed from step {step:,} of the recorded run"
    trigger = resume.get("trigger") or {}
    if trigger.get("kind"):
        at = f" at step {trigger['step']:,}" if isinstance(trigger.get("step"), int) else ""
        line += (f" ({TRIGGER_WORDS.get(trigger['kind'], trigger['kind'])}{at}"
                 f"{', ' + trigger['code'] if trigger.get('code') else ''})")
    steps = resume.get("optimizer_steps")
    if steps:
        line += f" · {resume.get('optimizer')} at its step {steps:,}"
    return line + " · every seed starts there; the seeds vary the data order"
