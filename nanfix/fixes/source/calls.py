"""Call locators: the optimizer constructor, `compile`, `fit` and each layer's constructor,
found in the script's tree from the lines the capture recorded (`capture.origins` and each
layer's `_nanfix_origin`), and the names fit passes its data under.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from nanfix.capture.origins import line_number
from nanfix.fixes.source.parse import Source, callee_name

LEGACY_OPTIMIZER = re.compile(r"Optimizer$")


def optimizer_call(source: Source, line: int) -> ast.Call | None:
    import keras

    known = {name for name in dir(keras.optimizers) if name[:1].isupper()}
    for call in source.calls_spanning(line):
        name = callee_name(call)
        if name in known or LEGACY_OPTIMIZER.search(name):
            return call
    return None


def compile_call(source: Source, line: int) -> ast.Call | None:
    for call in source.calls_spanning(line):
        if callee_name(call) == "compile":
            return call
    return None


def fit_call(source: Source, line: int) -> ast.Call | None:
    for call in source.calls_spanning(line):
        if callee_name(call) in ("fit", "fit_generator"):
            return call
    return None


def layer_calls(model: Any, source: Source) -> dict[str, ast.Call]:
    """Each layer's constructor call, matched by its origin line and class name."""
    by_line: dict[tuple[int, str], list[str]] = {}
    for layer in getattr(model, "layers", []):
        line = line_number(getattr(layer, "_nanfix_origin", None))
        if line is not None:
            by_line.setdefault((line, type(layer).__name__), []).append(layer.name)
    found: dict[str, ast.Call] = {}
    for (line, class_name), names in by_line.items():
        calls = [call for call in source.calls_spanning(line) if callee_name(call) == class_name]
        starting = sorted((c for c in calls if c.lineno == line), key=lambda c: c.col_offset)
        calls = starting or calls[:1]
        if len(calls) == len(names):  # one call per layer on this line, in order
            found.update(zip(names, calls, strict=False))
        elif len(calls) == 1:  # one call made several layers (a loop, a helper function)
            found.update((name, calls[0]) for name in names)
    return found


def quote_of(call: ast.Call, keyword: str, source: Source) -> str | None:
    """The quote character of the string the call passes as `keyword` now, if any."""
    for entry in call.keywords:
        if entry.arg == keyword and isinstance(entry.value, ast.Constant) and isinstance(entry.value.value, str):
            first = source.segment(entry.value)[:1]
            return first if first in ("'", '"') else None
    return None


def fit_arguments(source: Source, origins: dict[str, str | None]) -> dict[str, ast.expr]:
    """The expressions the fit call passes as x, y and, from validation_data, x_val, y_val;
    plus "validation" when it passes validation_data in any form."""
    line = line_number(origins.get("fit"))
    call = fit_call(source, line) if line else None
    if call is None:
        return {}
    found: dict[str, ast.expr] = {}
    keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    for index, key in enumerate(("x", "y")):
        node = call.args[index] if index < len(call.args) else keywords.get(key)
        if node is not None:
            found[key] = node
    validation = keywords.get("validation_data")
    if validation is not None and not (isinstance(validation, ast.Constant) and validation.value is None):
        found["validation"] = validation
        if isinstance(validation, ast.Tuple) and len(validation.elts) >= 2:
            found["x_val"], found["y_val"] = validation.elts[0], validation.elts[1]
    return found


def fit_names(source: Source, origins: dict[str, str | None]) -> dict[str, str]:
    """The plain names the fit call passes: {"x": "x_train", "y": ..., "x_val": ..., "y_val": ...}."""
    return {key: node.id for key, node in fit_arguments(source, origins).items()
            if key != "validation" and isinstance(node, ast.Name)}
