"""The catalog's building block: a rule with a stable code, like a linter's, and its registry.

A rule is one self-describing unit: its code, name, title and severity; the stage that finds
it; what it is (a symptom of which verdict, a data problem only a data fix cures, a cause a
probe measures); the line of the script it points at; its own limits, with their defaults,
overridable by the rule's name in `[tool.nanfix.rules]`; the explanation `nanfix explain
CODE` prints, in fixed sections; and the function that detects it. The explanation is the
detector's docstring. Which fixes answer a finding is declared by the fix families
(`nanfix.fixes`), once; a fixture in `tests/fixtures/findings/CODE.py` shows it firing.

A rule reads its limits from `context.limits`, never from a literal:

>>> from nanfix.records import Severity, Stage
>>> @rule("Z999", "example-rule", "An example", Severity.INFO, stage=Stage.PREFLIGHT,
...       limits={"scale": 10.0}, register=False)
... def example(context):
...     '''
...     ## What it means
...     The inputs are large.
...     ## Why it matters
...     Large inputs saturate units.
...     ## How to fix
...     Scale them.
...     ## Example
...     x = x / 255.0  # after
...     '''
...     if context.inputs_max > context.limits.scale:
...         return context.finding(f"inputs reach {context.inputs_max:g}", inputs_max=context.inputs_max)
>>> example.rule.limits["scale"], sorted(example.rule.explanation.sections)
(10.0, ['example', 'how to fix', 'what it means', 'why it matters'])
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from nanfix.capture.training_data import first_array
from nanfix.records import Finding, Named, ProbeResult, Severity, Stage, Symptom

SECTIONS = ("what it means", "why it matters", "how to fix", "example")
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


class Line(Named):
    """The line of the user's script a finding points at when it names none itself."""

    OPTIMIZER = "optimizer"  # the optimizer's constructor
    COMPILE = "compile"  # model.compile(...)
    FIT = "fit"  # model.fit(...): the data
    FIRST_NONFINITE = "first_nonfinite"  # the layer where the first non-finite value appeared


@dataclass(frozen=True)
class Explanation:
    """What `nanfix explain CODE` prints, in the catalog's fixed sections (as ruff's rule docs:
    what it means, why it matters, how to fix, an example)."""

    sections: Mapping[str, str]

    @classmethod
    def parse(cls, text: str, code: str) -> Explanation:
        """The sections of a detector's docstring (`## What it means` ...); a missing, extra or
        empty section is an error at registration, so every rule explains itself alike."""
        text = inspect.cleandoc(text or "")
        headings = list(_HEADING.finditer(text))
        names = [match.group(1).strip().lower() for match in headings]
        if tuple(names) != SECTIONS:
            raise ValueError(f"rule {code}: its docstring must have the sections "
                             f"{', '.join('## ' + s.capitalize() for s in SECTIONS)} in that order "
                             f"(found: {', '.join(names) or 'none'})")
        sections = {}
        for index, match in enumerate(headings):
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            body = text[match.end():end].strip()
            if not body:
                raise ValueError(f"rule {code}: section '{names[index]}' is empty")
            sections[names[index]] = body
        return cls(MappingProxyType(sections))

    def __str__(self) -> str:
        return "\n\n".join(f"{name.capitalize()}\n{body}" for name, body in self.sections.items())


class Limits(Mapping[str, float]):
    """A rule's limits as attributes (`context.limits.scale`): its defaults with the user's
    overrides (`[tool.nanfix.rules.<name>]`) applied."""

    def __init__(self, values: Mapping[str, float]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> float:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no limit {name!r} (limits: {', '.join(self._values)})") from None

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Limits({self._values})"


@dataclass
class Context:
    """What detectors look at. Pre-flight rules see no `baseline`; probe rules do. While a rule
    runs, `rule` and `limits` are its own (`for_rule`)."""

    model: Any
    optimizer: Any
    loss: Any
    task: Any  # nanfix.capture.task.Task
    data: Any  # nanfix.capture.training_data.TrainingData
    settings: Any  # nanfix.config.Settings
    capture: Any = None  # nanfix.capture.hooks.Capture, or None for the explicit entry
    fit_steps: int | None = None  # how many steps the script's own fit trains (None: unknown)
    baseline: ProbeResult | None = None
    numerics: dict[str, Any] = field(default_factory=dict)  # from the numerics replay
    cache: dict[str, Any] = field(default_factory=dict)  # shared measurements
    rule: Rule | None = None
    limits: Limits = field(default_factory=lambda: Limits({}))

    def for_rule(self, entry: Rule) -> Context:
        """This context as rule `entry` sees it: its limits under the settings' overrides."""
        return replace(self, rule=entry, limits=entry.limits_under(self.settings))

    def finding(self, message: str, where: str | None = None, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        """A finding of the rule being run, with its evidence (the limits it was judged by
        included, so a fix answering it reads them here, never a default)."""
        assert self.rule is not None, "Context.finding is for a rule's detector"
        if self.limits:
            evidence["limits"] = dict(self.limits)
        return self.rule.finding(message, where=where, severity=severity, **evidence)

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
    explanation: Explanation
    detect: Callable[[Context], Any]
    # the rule's own limits and their defaults (`Context.limits`)
    limits: Mapping[str, float] = field(default_factory=dict)
    # An error of this rule makes the task itself meaningless (labels that are not labels, one
    # class left, targets the output cannot produce): a curve that looks fine then learns
    # nothing real, so the verdict can never be healthy (`voiding`).
    voids_task: bool = False
    # A probe rule that measures a cause rather than a symptom (`Finding.is_cause`).
    measures_cause: bool = False
    # The verdict this probe finding is a symptom of (families choose grids by it).
    symptom: Symptom | None = None
    # The data itself is broken: no change of the model or the optimizer can cure it.
    data_problem: bool = False
    # The finding can be the diagnosis when nothing read before training explains the
    # verdict (in code order: N701 before N703 before S801 ...).
    names_verdict: bool = False
    # The line of the script it points at when it names none itself.
    points_at: Line = Line.COMPILE

    def finding(self, message: str, where: str | None = None, severity: Severity | None = None,
                **evidence: Any) -> Finding:
        return Finding(code=self.code, title=self.title, severity=severity or self.severity,
                       message=message, evidence=evidence, where=where, stage=self.stage,
                       measured_cause=self.measures_cause)

    def limits_under(self, settings: Any) -> Limits:
        """The rule's limits with the overrides `settings.rules` holds for its code."""
        overrides = (getattr(settings, "rules", None) or {}).get(self.code, {})
        return Limits({**self.limits, **overrides})


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, title: str, severity: Severity, *, stage: Stage,
         limits: Mapping[str, float] | None = None, voids_task: bool = False,
         measures_cause: bool = False, symptom: Symptom | None = None,
         data_problem: bool = False, names_verdict: bool = False,
         points_at: Line = Line.COMPILE, register: bool = True):
    """Register the decorated detector as catalog entry `code`; its docstring is the
    explanation, in the fixed sections (`Explanation.parse`). The function gets the rule as
    its `rule` attribute."""
    stage = Stage(stage)

    def register_rule(detect: Callable[[Context], Any]) -> Callable[[Context], Any]:
        if register and code in RULES:
            raise ValueError(f"finding code {code} registered twice")
        entry = Rule(code, name, title, severity, stage, Explanation.parse(detect.__doc__, code),
                     detect, limits=MappingProxyType({k: float(v) for k, v in (limits or {}).items()}),
                     voids_task=voids_task, measures_cause=measures_cause, symptom=symptom,
                     data_problem=data_problem, names_verdict=names_verdict, points_at=points_at)
        if register:
            RULES[code] = entry
        detect.rule = entry  # type: ignore[attr-defined]
        return detect

    return register_rule


def finding(code: str, message: str, where: str | None = None, severity: Severity | None = None,
            **evidence: Any) -> Finding:
    """Build a Finding for a registered code from outside its detector (its own detector says
    `context.finding(...)`, which adds the limits it was judged by)."""
    return RULES[code].finding(message, where=where, severity=severity, **evidence)


def rule_of(item: Finding | str) -> Rule | None:
    """The catalog entry of a finding (or a code)."""
    code = item if isinstance(item, str) else item.code
    return RULES.get(code.upper())


def voiding(findings: list[Finding]) -> list[Finding]:
    """The error findings that make the task meaningless, whatever the curve shows."""
    return [item for item in findings if item.severity is Severity.ERROR
            and (entry := rule_of(item)) is not None and entry.voids_task]


def with_symptom(findings: list[Finding], symptom: Symptom) -> list[Finding]:
    """The findings that are symptoms of `symptom` (a divergence, a stall)."""
    return [item for item in findings if (entry := rule_of(item)) is not None and entry.symptom is symptom]


def data_problems(findings: list[Finding]) -> list[Finding]:
    """The findings that say the data itself is broken: only a data fix can cure them."""
    return [item for item in findings if (entry := rule_of(item)) is not None and entry.data_problem]


def verdict_symptoms(findings: list[Finding]) -> list[Finding]:
    """The findings that can name the verdict itself, in the order they explain it."""
    chosen = [item for item in findings if (entry := rule_of(item)) is not None and entry.names_verdict]
    return sorted(chosen, key=lambda item: item.code)
