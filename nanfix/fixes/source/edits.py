"""A fix's change to the user's script, as structured edits that each know how to write
themselves: into the source (replacements of the call they touch) and as a snippet.

- `OptimizerEdit`: the optimizer constructor on the line `origins["optimizer"]` names;
- `LossEdit`: the `loss=` of the `compile` call on `origins["compile"]`;
- `LayerEdit`: a layer's constructor on the line its `_nanfix_origin` names;
- `FitEdit`: keyword arguments of the `fit` call on `origins["fit"]` (`batch_size=32`);
- `WrapOptimizerEdit`: the optimizer constructor wrapped (`LossScaleOptimizer(SGD(...))`);
- `PolicyEdit`: the argument of the script's `set_global_policy(...)` call;
- `DataEdit`: new lines just before the `fit` statement, written with the names the script
  passes to fit (`x_train = x_train / 255.0`).

Edits of one kind are written together (`replacements` is a classmethod over all of them):
several layers made by one call must all change alike, and the data lines of several data
edits go in one block. An edit whose call cannot be found raises `Unpatchable`; the fix then
has no diff, only its snippet.

Example::

    edit = OptimizerEdit({"learning_rate": 0.3})
    edit.snippet(script)   # 'optimizer = keras.optimizers.SGD(learning_rate=0.3)  # train.py:20'
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nanfix.capture.origins import line_number
from nanfix.fixes.source import calls
from nanfix.fixes.source.script import Source, callee_name, callee_prefix
from nanfix.fixes.source.text import Replacement, Unpatchable, format_value, set_keyword


@dataclass
class Script:
    """What an edit needs to write itself: the source (None when it cannot be read), the setup
    it changes, where the capture saw each call, and the script's own names for things."""

    source: Source | None
    setup: Any
    origins: dict[str, str | None]
    keras: str = "keras"  # how the script spells the Keras module
    numpy: str = "np"
    names: dict[str, str] = field(default_factory=dict)  # fit's x, y, x_val, y_val names

    @classmethod
    def of(cls, source: Source | None, setup: Any, origins: dict[str, str | None]) -> Script:
        names = {"x": "x_train", "y": "y_train", "x_val": "x_val", "y_val": "y_val"}
        if source is None:
            return cls(None, setup, origins, names=names)
        names.update(calls.fit_names(source, origins))
        return cls(source, setup, origins, keras=source.keras_prefix()[0],
                   numpy=source.numpy_alias()[0], names=names)


class SourceEdit:
    """One structured change; subclasses say how it is written."""

    needs: ClassVar[frozenset[str]] = frozenset()  # modules the written code may use

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: Script) -> list[Replacement]:
        """The text replacements that make all `edits` (all of this kind) in the source."""
        return [replacement for edit in edits for replacement in edit.replace(script)]

    def replace(self, script: Script) -> list[Replacement]:
        raise NotImplementedError

    def snippet(self, script: Script) -> str:
        raise NotImplementedError


def _call_at(script: Script, origin: str, find: Any, what: str) -> ast.Call:
    """The call `find(source, line)` locates on the line the capture saw `origin` at."""
    line = line_number(script.origins.get(origin))
    call = find(script.source, line) if line else None
    if call is None:
        raise Unpatchable(f"the {what} was not found")
    return call


def _at(origin: str | None, bare: bool = False) -> str:
    if not origin:
        return ""
    return f", {origin}" if bare else f"  # {origin}"


def _arguments(settings: dict[str, Any], quote: str, keras: str = "keras") -> str:
    return ", ".join(f"{key}={format_value(value, quote, keras)}" for key, value in settings.items())


def _constructor(prefix: str, class_name: str, settings: dict[str, Any], quote: str) -> str:
    return f"{prefix}.optimizers.{class_name}({_arguments(settings, quote, prefix)})"


@dataclass
class OptimizerEdit(SourceEdit):
    """Set (or, with None, remove) keyword arguments of the optimizer; maybe swap its class."""

    settings: dict[str, Any]
    class_name: str | None = None  # the (new) Keras class; set when the call is rewritten
    needs: ClassVar[frozenset[str]] = frozenset({"keras"})

    def whole_settings(self, setup: Any) -> dict[str, Any]:
        """The arguments a rewritten constructor needs: the edit's, plus the old rate if kept."""
        if self.class_name and self.class_name != setup.optimizer_name:
            return {k: v for k, v in self.settings.items() if v is not None}
        settings = {"learning_rate": setup.optimizer_settings.get("learning_rate")}
        settings.update(self.settings)
        return {k: v for k, v in settings.items() if v is not None and not isinstance(v, dict)}

    def replace(self, script: Script) -> list[Replacement]:
        import keras

        source, setup, origins, prefix = script.source, script.setup, script.origins, script.keras
        line = line_number(origins.get("optimizer")) or line_number(origins.get("compile"))
        if line is None:
            raise Unpatchable("the optimizer's line is unknown")
        quote = source.quote()
        class_name = self.class_name or setup.optimizer_name
        call = calls.optimizer_call(source, line)
        if call is None:
            # compile(optimizer="sgd"): the string becomes a constructor call
            compile_call = calls.compile_call(source, line_number(origins.get("compile")) or line)
            keyword = next((k for k in (compile_call.keywords if compile_call else [])
                            if k.arg == "optimizer"), None)
            if keyword is None or not isinstance(keyword.value, ast.Constant):
                raise Unpatchable("no optimizer constructor on the optimizer's line")
            start, end = source.span(keyword.value)
            return [Replacement(start, end, _constructor(prefix, class_name,
                                                         self.whole_settings(setup), quote))]
        name = callee_name(call)
        legacy = name not in {n for n in dir(keras.optimizers) if n[:1].isupper()}
        if legacy or (self.class_name and self.class_name != name):
            owner = callee_prefix(call, source)
            if legacy or owner is None:
                owner = f"{prefix}.optimizers"
            start, end = source.span(call)
            settings = self.whole_settings(setup)
            return [Replacement(start, end, f"{owner}.{class_name}({_arguments(settings, quote, prefix)})")]
        cls = getattr(keras.optimizers, name, None)
        out: list[Replacement] = []
        for key, value in self.settings.items():
            code = None if value is None else format_value(value, quote, prefix)
            out += set_keyword(call, source, key, code, cls=cls,
                               aliases=("lr",) if key == "learning_rate" else ())
        return out

    def snippet(self, script: Script) -> str:
        class_name = self.class_name or script.setup.optimizer_name
        constructor = _constructor(script.keras, class_name, self.whole_settings(script.setup), '"')
        return f"optimizer = {constructor}{_at(script.origins.get('optimizer'))}"


@dataclass
class WrapOptimizerEdit(SourceEdit):
    """Wrap the optimizer constructor in `{keras}.optimizers.<wrapper>(...)`."""

    wrapper: str

    def replace(self, script: Script) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "optimizer", calls.optimizer_call, "optimizer constructor")
        start, end = source.span(call)
        return [Replacement(start, end, f"{script.keras}.optimizers.{self.wrapper}({source.text[start:end]})")]

    def snippet(self, script: Script) -> str:
        return (f"optimizer = {script.keras}.optimizers.{self.wrapper}(optimizer)"
                f"{_at(script.origins.get('optimizer'))}")


@dataclass
class PolicyEdit(SourceEdit):
    """Give the script's `set_global_policy(...)` call another policy name."""

    policy: str

    def replace(self, script: Script) -> list[Replacement]:
        source = script.source
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Call) and callee_name(node) == "set_global_policy" and node.args:
                start, end = source.span(node.args[0])
                return [Replacement(start, end, format_value(self.policy, source.quote()))]
        raise Unpatchable("the set_global_policy call was not found")

    def snippet(self, script: Script) -> str:
        return (f"{script.keras}.mixed_precision.set_global_policy({format_value(self.policy, chr(34))})"
                "  # before the model is built")


class _CompileSignature:
    """Model.compile's positional order: compile(optimizer, loss, ...)."""

    def __init__(self, optimizer=None, loss=None):  # pragma: no cover - signature only
        pass


@dataclass
class LossEdit(SourceEdit):
    """Replace the loss given to compile; `code` may use {keras} for the Keras module prefix
    and {q} for the script's quote character."""

    code: str

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"keras"}) if "{keras}" in self.code else frozenset()

    def replace(self, script: Script) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "compile", calls.compile_call, "compile call")
        code = self.code.format(keras=script.keras, q=source.quote())
        return set_keyword(call, source, "loss", code, cls=_CompileSignature)

    def snippet(self, script: Script) -> str:
        code = self.code.format(keras=script.keras, q='"')
        return f"model.compile(optimizer=optimizer, loss={code}, ...){_at(script.origins.get('compile'))}"


class _FitSignature:
    """Model.fit's positional order: fit(x, y, batch_size, epochs, ...)."""

    def __init__(self, x=None, y=None, batch_size=None, epochs=1):  # pragma: no cover - signature only
        pass


@dataclass
class FitEdit(SourceEdit):
    """Set keyword arguments (plain Python values) of the fit call."""

    settings: dict[str, Any]

    def replace(self, script: Script) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "fit", calls.fit_call, "fit call")
        out: list[Replacement] = []
        for keyword, value in self.settings.items():
            out += set_keyword(call, source, keyword, format_value(value, source.quote()), cls=_FitSignature)
        return out

    def snippet(self, script: Script) -> str:
        return f"model.fit(x, y, {_arguments(self.settings, chr(34))}, ...){_at(script.origins.get('fit'))}"


@dataclass
class LayerEdit(SourceEdit):
    """Set keyword arguments (plain Python values) of the layer named `layer`."""

    layer: str
    settings: dict[str, Any]

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: Script) -> list[Replacement]:
        """Layers made by one call (a loop, a helper) change only when all of them change alike."""
        source, model = script.source, script.setup.model
        found = calls.layer_calls(model, source)
        per_call: dict[int, tuple[ast.Call, dict[str, Any], set[str]]] = {}
        for edit in edits:
            call = found.get(edit.layer)
            if call is None:
                raise Unpatchable(f"the constructor of layer {edit.layer} was not found")
            entry = per_call.setdefault(id(call), (call, {}, set()))
            for key, value in edit.settings.items():
                if key in entry[1] and entry[1][key] != value:
                    raise Unpatchable(f"layers made by one call need different {key}")
                entry[1][key] = value
            entry[2].add(edit.layer)
        for call, _, edited in per_call.values():
            made = {name for name, other in found.items() if other is call}
            if made - edited:
                raise Unpatchable("a call that makes several layers would change all of them")
        out: list[Replacement] = []
        for call, settings, names in per_call.values():
            layer_class = type(model.get_layer(sorted(names)[0]))
            for key, value in settings.items():
                quote = calls.quote_of(call, key, source) or source.quote()
                out += set_keyword(call, source, key, format_value(value, quote, script.keras),
                                   cls=layer_class)
        return out

    def snippet(self, script: Script) -> str:
        try:
            layer = script.setup.model.get_layer(self.layer)
        except (ValueError, AttributeError):
            layer = None
        kind = type(layer).__name__ if layer is not None else "layer"
        arguments = ", ".join(f"{k}={format_value(v, chr(34), script.keras)}" for k, v in self.settings.items())
        origin = getattr(layer, "_nanfix_origin", None)
        return f"{kind}(..., {arguments})  # layer {self.layer}{_at(origin, bare=True)}"


# Expressions that need no parentheses when an inline data edit wraps them.
ATOMS = (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)


@dataclass
class DataEdit(SourceEdit):
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

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        uses_numpy = any("{np}" in line for line in (*self.lines, *self.val_lines))
        return frozenset({"numpy"}) if uses_numpy else frozenset()

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: Script) -> list[Replacement]:
        """Every data edit's lines in one block before the fit statement."""
        source, origins = script.source, script.origins
        line = line_number(origins.get("fit"))
        call = calls.fit_call(source, line) if line else None
        if call is None:
            raise Unpatchable("the fit call was not found")
        statement = source.statement_at(call)
        arguments = calls.fit_arguments(source, origins)
        names = calls.fit_names(source, origins)
        names["np"] = script.numpy
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
                out += edit.replace_inline(arguments, source, validation)
        if text:
            start = source.line_starts[statement.lineno - 1]
            out.append(Replacement(start, start, "".join(text)))
        return out

    def replace_inline(self, arguments: dict[str, ast.expr], source: Source,
                       validation: bool) -> list[Replacement]:
        if not self.inline:
            raise Unpatchable("fit's data arguments are not plain names")
        keys = ["x"] + (["x_val"] if validation else [])
        out = []
        for key, template in zip(keys, self.inline, strict=False):
            node = arguments.get(key)
            if node is None:
                raise Unpatchable(f"fit's {key} argument was not found")
            text = source.segment(node)
            text = text if isinstance(node, ATOMS) else f"({text})"
            start, end = source.span(node)
            out.append(Replacement(start, end, template.format(**{key: text})))
        return out

    def snippet(self, script: Script) -> str:
        names = {**script.names, "np": script.numpy}
        body = "\n".join(_fill(line, names) for line in (*self.lines, *self.val_lines))
        comment = f"# {self.comment}\n" if self.comment else ""
        return f"{comment}{body}\nmodel.fit({names['x']}, {names['y']}, ...)"


def _fill(template: str, names: dict[str, str]) -> str:
    """The template with the names it has; an unknown placeholder stays as its own name."""

    class Missing(dict):
        def __missing__(self, key):
            return key

    return template.format_map(Missing(names))
