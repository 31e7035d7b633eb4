"""A fix as a change to the user's own script: a unified diff where the changed call can be
found in the source, and a short snippet always.

Fixes describe their change structurally, as edits (`OptimizerEdit`, `LossEdit`, `LayerEdit`,
`DataEdit`); this module finds the call each edit touches and rewrites only that text:

- the optimizer constructor on the line `capture.origins["optimizer"]` names,
- the `loss=` of the `compile` call on `capture.origins["compile"]`,
- a layer's constructor on the line its `_nanfix_origin` names,
- data transforms as new lines just before the `fit` statement, written with the names the
  script passes to fit (`x_train = x_train / 255.0`).

Everything else in the file keeps the user's formatting. When an edit's call cannot be found
(a layer built in a loop with other layers that must not change, an input that is not a plain
name), there is no diff and the snippet says what to change.

Example::

    diff, snippet = render(fix.edits, fix.id, setup, capture)
    new_script = apply_patch("train.py", diff)   # writes train.nanfix.py next to train.py
"""

from __future__ import annotations

import ast
import difflib
import inspect
import os
import re
from dataclasses import dataclass, field
from typing import Any

from nanfix.origins import line_number


@dataclass
class OptimizerEdit:
    """Set (or, with None, remove) keyword arguments of the optimizer; maybe swap its class."""

    settings: dict[str, Any]
    class_name: str | None = None  # the (new) Keras class; set when the call is rewritten


@dataclass
class LossEdit:
    """Replace the loss given to compile; `code` may use {keras} for the Keras module prefix."""

    code: str


@dataclass
class LayerEdit:
    """Set keyword arguments (plain Python values) of the layer named `layer`."""

    layer: str
    settings: dict[str, Any]


@dataclass
class DataEdit:
    """Lines inserted before the fit statement.

    Placeholders: {x} {y} (fit's inputs and targets), {x_val} {y_val} (validation_data),
    {np} (the script's NumPy alias). `val_lines` are written when the fit call passes
    validation_data. When an argument is not a plain name, `inline` (if given) rewrites it
    where fit receives it; otherwise there is no diff, only the snippet.
    """

    lines: tuple[str, ...]
    val_lines: tuple[str, ...] = ()
    comment: str = ""
    # the same change as one expression, for when fit's x is not a plain name:
    # ("{x} / 255.0", "{x_val} / 255.0")
    inline: tuple[str, ...] = ()


SourceEdit = OptimizerEdit | LossEdit | LayerEdit | DataEdit

LEGACY_OPTIMIZER = re.compile(r"Optimizer$")


class PatchError(Exception):
    """The diff does not apply to the script as it is now."""


# -- the script's source ---------------------------------------------------------------


@dataclass
class Source:
    """A script's text with its syntax tree and character offsets for ast positions."""

    text: str
    tree: ast.Module = field(init=False)
    line_starts: list[int] = field(init=False)
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.tree = ast.parse(self.text)
        self.lines = self.text.splitlines(keepends=True)
        self.line_starts, offset = [], 0
        for line in self.lines:
            self.line_starts.append(offset)
            offset += len(line)
        self.line_starts.append(offset)

    def offset(self, line: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; we edit characters."""
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return self.line_starts[line - 1] + len(text.encode()[:byte_col].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def calls_spanning(self, line: int) -> list[ast.Call]:
        """Calls whose text covers `line`, innermost first."""
        calls = [node for node in ast.walk(self.tree) if isinstance(node, ast.Call)
                 and node.lineno <= line <= (node.end_lineno or node.lineno)]
        return sorted(calls, key=lambda node: (node.end_lineno - node.lineno,
                                               -node.lineno, -node.col_offset))

    def statement_at(self, node: ast.AST) -> ast.stmt | None:
        """The innermost statement that contains `node`."""
        best = None
        for candidate in ast.walk(self.tree):
            if isinstance(candidate, ast.stmt) and _contains(candidate, node):
                if best is None or _contains(best, candidate):
                    best = candidate
        return best

    def quote(self) -> str:
        return "'" if self.text.count("'") > self.text.count('"') else '"'

    def keras_prefix(self) -> tuple[str, str | None]:
        """How this script spells the Keras module, and an import line to add if it has none."""
        tf_alias = None
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "keras":
                        return alias.asname or "keras", None
                    if alias.name == "tensorflow":
                        tf_alias = alias.asname or "tensorflow"
            elif isinstance(node, ast.ImportFrom) and node.module == "tensorflow":
                for alias in node.names:
                    if alias.name == "keras":
                        return alias.asname or "keras", None
        if tf_alias:
            return f"{tf_alias}.keras", None
        return "keras", "import keras"

    def numpy_alias(self) -> tuple[str, str | None]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "numpy":
                        return alias.asname or "numpy", None
        return "np", "import numpy as np"


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    start = (outer.lineno, outer.col_offset)
    end = (outer.end_lineno, outer.end_col_offset)
    return start <= (inner.lineno, inner.col_offset) and (inner.end_lineno, inner.end_col_offset) <= end


def callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def callee_prefix(call: ast.Call, source: Source) -> str | None:
    """`keras.optimizers` for `keras.optimizers.SGD(...)`; None for a bare name."""
    if isinstance(call.func, ast.Attribute):
        return source.segment(call.func.value)
    return None


# -- edits as text replacements ---------------------------------------------------------


@dataclass
class Replacement:
    start: int
    end: int
    text: str


class Unpatchable(Exception):
    """This edit's call could not be found in the source; fall back to the snippet."""


def _format_value(value: Any, quote: str) -> str:
    if isinstance(value, str):
        body = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
        return f"{quote}{body}{quote}"
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    return repr(value)


def _positional_index(cls: type | None, keyword: str) -> int | None:
    if cls is None:
        return None
    try:
        names = [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
                 if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    names = names[1:]  # self
    return names.index(keyword) if keyword in names else None


def _set_keyword(call: ast.Call, source: Source, keyword: str, code: str | None,
                 cls: type | None = None, aliases: tuple[str, ...] = ()) -> list[Replacement]:
    """Replacements that give `call` the argument `keyword=code` (or remove it, code None)."""
    for entry in call.keywords:
        if entry.arg == keyword or entry.arg in aliases:
            if code is None:
                return [_remove_keyword(call, entry, source)]
            if entry.arg != keyword:  # a legacy alias such as lr=: rename it as well
                start, _ = source.span(entry)
                _, end = source.span(entry.value)
                return [Replacement(start, end, f"{keyword}={code}")]
            start, end = source.span(entry.value)
            return [Replacement(start, end, code)]
    index = _positional_index(cls, keyword)
    if index is not None and index < len(call.args) and not any(
            isinstance(arg, ast.Starred) for arg in call.args[:index + 1]):
        if code is None:
            raise Unpatchable(f"{keyword} is passed positionally")
        start, end = source.span(call.args[index])
        return [Replacement(start, end, code)]
    if code is None:
        return []
    return [_append_argument(call, source, f"{keyword}={code}")]


def _append_argument(call: ast.Call, source: Source, text: str) -> Replacement:
    _, end = source.span(call)
    close = end - 1  # the call's closing parenthesis
    before = source.text[:close].rstrip()
    if before.endswith("("):
        return Replacement(close, close, text)
    arguments = [*call.args, *call.keywords]
    last = max(arguments, key=lambda node: (node.lineno, node.col_offset))
    line = source.lines[last.lineno - 1]
    column = source.offset(last.lineno, last.col_offset) - source.line_starts[last.lineno - 1]
    if last.lineno > call.lineno and not line[:column].strip():
        # one argument per line: the new one goes on its own line, aligned with the others
        separator = "\n" if before.endswith(",") else ",\n"
        return Replacement(len(before), len(before), f"{separator}{line[:column]}{text}")
    if before.endswith(","):
        return Replacement(len(before), len(before), " " + text)
    return Replacement(len(before), len(before), ", " + text)


def _remove_keyword(call: ast.Call, entry: ast.keyword, source: Source) -> Replacement:
    start, _ = source.span(entry)
    _, end = source.span(entry.value)
    text = source.text
    head = text[:start].rstrip()
    if head.endswith(","):  # drop the comma before it: f(a, k=1) -> f(a)
        return Replacement(len(head) - 1, end, "")
    tail = text[end:]
    stripped = tail.lstrip()
    if stripped.startswith(","):  # first argument: f(k=1, b) -> f(b)
        return Replacement(start, end + len(tail) - len(stripped) + 1 + _spaces(stripped[1:]), "")
    return Replacement(start, end, "")


def _spaces(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


# -- locating the calls ------------------------------------------------------------------


def _optimizer_call(source: Source, line: int) -> ast.Call | None:
    import keras

    known = {name for name in dir(keras.optimizers) if name[:1].isupper()}
    for call in source.calls_spanning(line):
        name = callee_name(call)
        if name in known or LEGACY_OPTIMIZER.search(name):
            return call
    return None


def _compile_call(source: Source, line: int) -> ast.Call | None:
    for call in source.calls_spanning(line):
        if callee_name(call) == "compile":
            return call
    return None


def _fit_call(source: Source, line: int) -> ast.Call | None:
    for call in source.calls_spanning(line):
        if callee_name(call) in ("fit", "fit_generator"):
            return call
    return None


def _optimizer_replacements(edit: OptimizerEdit, setup: Any, source: Source,
                            origins: dict[str, str | None], prefix: str) -> list[Replacement]:
    import keras

    line = line_number(origins.get("optimizer")) or line_number(origins.get("compile"))
    if line is None:
        raise Unpatchable("the optimizer's line is unknown")
    quote = source.quote()
    class_name = edit.class_name or setup.optimizer_name
    call = _optimizer_call(source, line)
    if call is None:
        # compile(optimizer="sgd"): the string becomes a constructor call
        compile_call = _compile_call(source, line_number(origins.get("compile")) or line)
        keyword = next((k for k in (compile_call.keywords if compile_call else [])
                        if k.arg == "optimizer"), None)
        if keyword is None or not isinstance(keyword.value, ast.Constant):
            raise Unpatchable("no optimizer constructor on the optimizer's line")
        start, end = source.span(keyword.value)
        return [Replacement(start, end, _constructor(prefix, class_name, _whole_settings(edit, setup), quote))]
    name = callee_name(call)
    legacy = name not in {n for n in dir(keras.optimizers) if n[:1].isupper()}
    if legacy or (edit.class_name and edit.class_name != name):
        owner = callee_prefix(call, source)
        if legacy or owner is None:
            owner = f"{prefix}.optimizers"
        start, end = source.span(call)
        settings = _whole_settings(edit, setup) if (legacy or edit.class_name) else edit.settings
        return [Replacement(start, end, f"{owner}.{class_name}({_arguments(settings, quote)})")]
    cls = getattr(keras.optimizers, name, None)
    out: list[Replacement] = []
    for key, value in edit.settings.items():
        code = None if value is None else _format_value(value, quote)
        out += _set_keyword(call, source, key, code, cls=cls,
                            aliases=("lr",) if key == "learning_rate" else ())
    return out


def _whole_settings(edit: OptimizerEdit, setup: Any) -> dict[str, Any]:
    """The arguments a rewritten constructor needs: the edit's, plus the old rate if kept."""
    if edit.class_name and edit.class_name != setup.optimizer_name:
        return {k: v for k, v in edit.settings.items() if v is not None}
    settings = {"learning_rate": setup.optimizer_settings.get("learning_rate")}
    settings.update(edit.settings)
    return {k: v for k, v in settings.items() if v is not None and not isinstance(v, dict)}


def _arguments(settings: dict[str, Any], quote: str) -> str:
    return ", ".join(f"{key}={_format_value(value, quote)}" for key, value in settings.items())


def _constructor(prefix: str, class_name: str, settings: dict[str, Any], quote: str) -> str:
    return f"{prefix}.optimizers.{class_name}({_arguments(settings, quote)})"


def _loss_replacements(edit: LossEdit, source: Source, origins: dict[str, str | None],
                       prefix: str) -> list[Replacement]:
    line = line_number(origins.get("compile"))
    call = _compile_call(source, line) if line else None
    if call is None:
        raise Unpatchable("the compile call was not found")
    code = edit.code.format(keras=prefix, q=source.quote())
    return _set_keyword(call, source, "loss", code, cls=_CompileSignature)


class _CompileSignature:
    """Model.compile's positional order: compile(optimizer, loss, ...)."""

    def __init__(self, optimizer=None, loss=None):  # pragma: no cover - signature only
        pass


def _layer_calls(model: Any, source: Source) -> dict[str, ast.Call]:
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


def _layer_replacements(edits: list[LayerEdit], setup: Any, source: Source) -> list[Replacement]:
    model = setup.model
    calls = _layer_calls(model, source)
    per_call: dict[int, tuple[ast.Call, dict[str, Any], set[str]]] = {}
    for edit in edits:
        call = calls.get(edit.layer)
        if call is None:
            raise Unpatchable(f"the constructor of layer {edit.layer} was not found")
        entry = per_call.setdefault(id(call), (call, {}, set()))
        for key, value in edit.settings.items():
            if key in entry[1] and entry[1][key] != value:
                raise Unpatchable(f"layers made by one call need different {key}")
            entry[1][key] = value
        entry[2].add(edit.layer)
    # a call that made several layers may only change when every one of them changes alike
    for call, _, edited in per_call.values():
        made = {name for name, other in calls.items() if other is call}
        if made - edited:
            raise Unpatchable("a call that makes several layers would change all of them")
    out: list[Replacement] = []
    for call, settings, names in per_call.values():
        cls = type(model.get_layer(sorted(names)[0]))
        for key, value in settings.items():
            quote = _quote_of(call, key, source) or source.quote()
            out += _set_keyword(call, source, key, _format_value(value, quote), cls=cls)
    return out


def _quote_of(call: ast.Call, keyword: str, source: Source) -> str | None:
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
    call = _fit_call(source, line) if line else None
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


def _data_replacements(edits: list[DataEdit], source: Source, origins: dict[str, str | None],
                       numpy_name: str) -> list[Replacement]:
    line = line_number(origins.get("fit"))
    call = _fit_call(source, line) if line else None
    if call is None:
        raise Unpatchable("the fit call was not found")
    statement = source.statement_at(call)
    arguments = fit_arguments(source, origins)
    names = fit_names(source, origins)
    names["np"] = numpy_name
    validation = "validation" in arguments
    indent = source.lines[statement.lineno - 1][:statement.col_offset]
    text: list[str] = []
    out: list[Replacement] = []
    for edit in edits:
        templates = list(edit.lines) + (list(edit.val_lines) if validation else [])
        try:
            text += [indent + template.format(**names) + "\n" for template in templates]
        except KeyError:
            # an argument is not a plain name: transform it where fit receives it
            out += _inline(edit, arguments, source, validation)
    if text:
        start = source.line_starts[statement.lineno - 1]
        out.append(Replacement(start, start, "".join(text)))
    return out


ATOMS = (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)


def _inline(edit: DataEdit, arguments: dict[str, ast.expr], source: Source,
            validation: bool) -> list[Replacement]:
    if not edit.inline:
        raise Unpatchable("fit's data arguments are not plain names")
    keys = ["x"] + (["x_val"] if validation else [])
    out = []
    for key, template in zip(keys, edit.inline, strict=False):
        node = arguments.get(key)
        if node is None:
            raise Unpatchable(f"fit's {key} argument was not found")
        text = source.segment(node)
        text = text if isinstance(node, ATOMS) else f"({text})"
        start, end = source.span(node)
        out.append(Replacement(start, end, template.format(**{key: text})))
    return out


# -- the diff and the snippet --------------------------------------------------------------


def render(edits: list[SourceEdit], fix_id: str, setup: Any, capture: Any) -> tuple[str | None, str]:
    """(unified diff of the script, or None where a call could not be found; snippet)."""
    script = getattr(capture, "script", None)
    origins = dict(getattr(capture, "origins", {}) or {})
    source = None
    if script and os.path.exists(script):
        try:
            with open(script, encoding="utf-8") as handle:
                source = Source(handle.read())
        except (OSError, SyntaxError, UnicodeDecodeError):
            source = None
    snippet = make_snippet(edits, setup, source, origins)
    if source is None or not edits:
        return None, snippet
    try:
        patched = patch_text(source, edits, setup, origins)
    except Unpatchable:
        return None, snippet
    if patched == source.text:
        return None, snippet
    name = os.path.basename(script)
    diff = "".join(difflib.unified_diff(source.text.splitlines(keepends=True),
                                        patched.splitlines(keepends=True),
                                        fromfile=name, tofile=f"{name} (nanfix: {fix_id})"))
    return diff, snippet


def patch_text(source: Source, edits: list[SourceEdit], setup: Any,
               origins: dict[str, str | None]) -> str:
    """The script's text with every edit made; raises Unpatchable."""
    prefix, keras_import = source.keras_prefix()
    numpy_name, numpy_import = source.numpy_alias()
    replacements: list[Replacement] = []
    needs = set()
    for edit in edits:
        if isinstance(edit, OptimizerEdit):
            replacements += _optimizer_replacements(edit, setup, source, origins, prefix)
            needs.add("keras")
        elif isinstance(edit, LossEdit):
            replacements += _loss_replacements(edit, source, origins, prefix)
            if "{keras}" in edit.code:
                needs.add("keras")
    layer_edits = [edit for edit in edits if isinstance(edit, LayerEdit)]
    if layer_edits:
        replacements += _layer_replacements(layer_edits, setup, source)
    data_edits = [edit for edit in edits if isinstance(edit, DataEdit)]
    if data_edits:
        replacements += _data_replacements(data_edits, source, origins, numpy_name)
        if any("{np}" in line for edit in data_edits for line in (*edit.lines, *edit.val_lines)):
            needs.add("numpy")
    imports = []
    if "keras" in needs and keras_import and _uses(replacements, prefix + "."):
        imports.append(keras_import)
    if "numpy" in needs and numpy_import:
        imports.append(numpy_import)
    if imports:
        at = _import_position(source)
        replacements.append(Replacement(at, at, "".join(line + "\n" for line in imports)))
    return _apply(source.text, replacements)


def _uses(replacements: list[Replacement], text: str) -> bool:
    return any(text in replacement.text for replacement in replacements)


def _import_position(source: Source) -> int:
    """Just after the script's last top-level import (or at the top)."""
    last = None
    for node in source.tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node
    if last is None:
        return 0
    return source.line_starts[last.end_lineno]


def _apply(text: str, replacements: list[Replacement]) -> str:
    ordered = sorted(replacements, key=lambda r: (r.start, r.end))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise Unpatchable("two edits touch the same text")
    for replacement in reversed(ordered):
        text = text[:replacement.start] + replacement.text + text[replacement.end:]
    return text


def make_snippet(edits: list[SourceEdit], setup: Any, source: Source | None,
                 origins: dict[str, str | None]) -> str:
    """What to change, as short code the user can copy, one block per edit."""
    prefix = source.keras_prefix()[0] if source else "keras"
    numpy_name = source.numpy_alias()[0] if source else "np"
    names = {"x": "x_train", "y": "y_train", "x_val": "x_val", "y_val": "y_val"}
    if source is not None:
        names.update(fit_names(source, origins))
    names["np"] = numpy_name
    blocks = []
    for edit in edits:
        if isinstance(edit, OptimizerEdit):
            class_name = edit.class_name or setup.optimizer_name
            settings = _whole_settings(edit, setup)
            where = _at(origins.get("optimizer"))
            blocks.append(f"optimizer = {_constructor(prefix, class_name, settings, chr(34))}{where}")
        elif isinstance(edit, LossEdit):
            code = edit.code.format(keras=prefix, q='"')
            blocks.append(f"model.compile(optimizer=optimizer, loss={code}, ...){_at(origins.get('compile'))}")
        elif isinstance(edit, LayerEdit):
            layer = _layer(setup, edit.layer)
            kind = type(layer).__name__ if layer is not None else "layer"
            arguments = ", ".join(f"{k}={_format_value(v, chr(34))}" for k, v in edit.settings.items())
            origin = getattr(layer, "_nanfix_origin", None)
            blocks.append(f"{kind}(..., {arguments})  # layer {edit.layer}{_at(origin, bare=True)}")
        elif isinstance(edit, DataEdit):
            lines = list(edit.lines) + list(edit.val_lines)
            body = "\n".join(_fill(line, names) for line in lines)
            comment = f"# {edit.comment}\n" if edit.comment else ""
            blocks.append(f"{comment}{body}\nmodel.fit({names['x']}, {names['y']}, ...)")
    return "\n".join(blocks)


def _fill(template: str, names: dict[str, str]) -> str:
    class Missing(dict):
        def __missing__(self, key):
            return key

    return template.format_map(Missing(names))


def _layer(setup: Any, name: str) -> Any:
    try:
        return setup.model.get_layer(name)
    except (ValueError, AttributeError):
        return None


def _at(origin: str | None, bare: bool = False) -> str:
    if not origin:
        return ""
    return f", {origin}" if bare else f"  # {origin}"


# -- writing the patched script ------------------------------------------------------------

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_diff(text: str, diff: str) -> str:
    """Apply a unified diff (as `render` makes it) to `text`; PatchError if it does not fit."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    position = 0  # index into lines
    diff_lines = diff.splitlines(keepends=True)
    index = 0
    while index < len(diff_lines):
        match = HUNK.match(diff_lines[index])
        index += 1
        if not match:
            continue
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < position:
            raise PatchError("overlapping hunks")
        out.extend(lines[position:start])
        position = start
        while index < len(diff_lines) and not diff_lines[index].startswith("@@"):
            line = diff_lines[index]
            index += 1
            tag, body = line[:1], line[1:]
            if tag == "\\":
                continue
            if tag in (" ", "-"):
                if position >= len(lines) or lines[position].rstrip("\r\n") != body.rstrip("\r\n"):
                    raise PatchError(f"the script changed near line {position + 1}")
                if tag == " ":
                    out.append(lines[position])
                position += 1
            elif tag == "+":
                out.append(body if body.endswith("\n") else body + "\n")
    out.extend(lines[position:])
    return "".join(out)


def patched_path(script_path: str) -> str:
    stem, suffix = os.path.splitext(script_path)
    return f"{stem}.nanfix{suffix or '.py'}"


def apply_patch(script_path: str, diff_or_fix: Any) -> str:
    """Write the patched script as `train.nanfix.py` next to `train.py` (never over it).

    `diff_or_fix` is a diff's text or anything with a `.diff` (a FixResult).
    """
    diff = diff_or_fix if isinstance(diff_or_fix, str) else getattr(diff_or_fix, "diff", None)
    if not diff:
        raise PatchError("this fix has no diff to apply; see its snippet")
    with open(script_path, encoding="utf-8") as handle:
        text = handle.read()
    target = patched_path(script_path)
    if os.path.abspath(target) == os.path.abspath(script_path):
        raise PatchError("refusing to overwrite the script itself")
    patched = apply_diff(text, diff)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(patched)
    return target
