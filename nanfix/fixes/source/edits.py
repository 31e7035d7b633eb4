"""A fix's change to the user's script, described once: each edit kind knows how to write
itself into the source (the diff), as a snippet, in words, and what it does to the training
setup the probe trains (`apply_to`). The probe measures exactly what the diff writes, so the
two cannot drift; `tests/fixes/test_measured_is_written.py` runs every family's patched script
and compares what it trains with what was measured.

- `OptimizerEdit`: the optimizer constructor on the line `origins["optimizer"]` names;
- `LossEdit`: the `loss=` of the `compile` call on `origins["compile"]`;
- `LayerEdit`: a layer's constructor on the line its `_nanfix_origin` names;
- `InsertLayersEdit`: new layers after a layer of a `Sequential` model;
- `FitEdit`: keyword arguments of the `fit` call on `origins["fit"]` (`batch_size=32`);
- `WrapOptimizerEdit`: the optimizer constructor wrapped (`LossScaleOptimizer(SGD(...))`);
- `PolicyEdit`: the argument of the script's `set_global_policy(...)` call;
- `DataEdit`: new lines just before the `fit` statement, written with the names the script
  passes to fit (`x_train = x_train / 255.0`), and run on the captured arrays to measure.

Edits of one kind are written together (`replacements` is a classmethod over all of them):
several layers made by one call must all change alike, and the data lines of several data
edits go in one block. An edit whose call cannot be found raises `Unpatchable`; the fix then
has no diff, only its snippet. Two edits that set the same thing differently (`touches`)
cannot be combined into one fix.

>>> edit = OptimizerEdit({"learning_rate": 0.3})
>>> sorted(edit.touches())
[('optimizer', 'learning_rate')]
>>> LossEdit("mean_squared_error").touches()
{('loss', '*'): 'mean_squared_error'}
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from typing import Any, ClassVar

import numpy as np

from nanfix.capture.origins import line_number
from nanfix.capture.training_data import concatenate, take
from nanfix.fixes.source import calls
from nanfix.fixes.source.parse import Source, callee_name, callee_prefix
from nanfix.fixes.source.text import Code, Replacement, Unpatchable, format_value, set_keyword
from nanfix.probes.setup import (
    TrainSetup,
    activation_name,
    insert_after,
    insert_first,
    layer_configs,
    model_config,
    replace_policies,
    set_layer_settings,
)

# What an edit changes, for telling which edits cannot be combined: (what, which) -> value;
# `which` "*" is the whole thing (a new optimizer class, a new loss).
Touches = dict[tuple[str, str], Any]
WHOLE = "*"


@dataclass
class EditContext:
    """What an edit needs to write itself: the source (None when it cannot be read), the setup
    it changes, where the capture saw each call, and the script's own names for things."""

    source: Source | None
    setup: Any
    origins: dict[str, str | None]
    keras: str = "keras"  # how the script spells the Keras module
    numpy: str = "np"
    names: dict[str, str] = field(default_factory=dict)  # fit's x, y, x_val, y_val names

    @classmethod
    def of(cls, source: Source | None, setup: Any, origins: dict[str, str | None]) -> EditContext:
        names = {"x": "x_train", "y": "y_train", "x_val": "x_val", "y_val": "y_val"}
        if source is None:
            return cls(None, setup, origins, names=names)
        names.update(calls.fit_names(source, origins))
        return cls(source, setup, origins, keras=source.keras_prefix()[0],
                   numpy=source.numpy_alias()[0], names=names)


class SourceEdit:
    """One structured change: how it is written (`replace`, `snippet`), said (`describe`) and
    measured (`apply_to`), and what it touches. Subclasses implement all of them."""

    needs: ClassVar[frozenset[str]] = frozenset()  # modules the written code may use
    # runs before the other edits of a combination (a repair of the rows before a scaling)
    first: ClassVar[bool] = False

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: EditContext) -> list[Replacement]:
        """The text replacements that make all `edits` (all of this kind) in the source."""
        return [replacement for edit in edits for replacement in edit.replace(script)]

    def replace(self, script: EditContext) -> list[Replacement]:
        raise NotImplementedError

    def snippet(self, script: EditContext) -> str:
        raise NotImplementedError

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        """The setup as the patched script trains it: what the probe measures."""
        raise NotImplementedError

    def describe(self, setup: TrainSetup) -> str:
        """The change in the user's words ("SGD(learning_rate=3) → SGD(learning_rate=0.3)")."""
        raise NotImplementedError

    def touches(self) -> Touches:
        """What this edit sets, and to what: two edits that set one thing differently, or one
        that replaces a whole thing another sets part of, cannot be combined."""
        return {}


def conflict(first: Touches, second: Touches) -> bool:
    """Whether two edits' `touches` disagree: the same thing set to different values, or a
    whole thing replaced while the other sets a part of it."""
    for (what, which), value in first.items():
        for (other_what, other_which), other_value in second.items():
            if what != other_what:
                continue
            if WHOLE in (which, other_which) and (which, value) != (other_which, other_value):
                return True
            if which == other_which and repr(value) != repr(other_value):
                return True
    return False


def measured(value: Any) -> Any:
    """A value as the probe's serialized configs hold it: code becomes the serialized object
    it makes (a regularizer, a schedule), a plain value stays as it is."""
    if isinstance(value, Code):
        import keras

        return keras.saving.serialize_keras_object(value.evaluate())
    return value


def shown(value: Any) -> str:
    """A setting as the report's words show it."""
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    if isinstance(value, dict):
        return describe_object(value)
    if isinstance(value, Code):  # keras.regularizers.L2(l2=0.0001) → L2(l2=0.0001)
        return re.sub(r"^(?:\w+\.)+(?=\w+\()", "", str(value))
    return str(value)


def describe_object(config: Any) -> str:
    """A serialized Keras object in words: 'RandomNormal(mean=0, stddev=1)'."""
    if not isinstance(config, dict):
        return str(config)
    arguments = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                          else f"{k}={v}" for k, v in (config.get("config") or {}).items()
                          if k not in ("seed", "name") and v is not None)
    return f"{config.get('class_name')}({arguments})"


def _call_at(script: EditContext, origin: str, find: Any, what: str) -> ast.Call:
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

    def replace(self, script: EditContext) -> list[Replacement]:
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

    def snippet(self, script: EditContext) -> str:
        class_name = self.class_name or script.setup.optimizer_name
        constructor = _constructor(script.keras, class_name, self.whole_settings(script.setup), '"')
        return f"optimizer = {constructor}{_at(script.origins.get('optimizer'))}"

    def swaps(self, setup: TrainSetup) -> bool:
        return bool(self.class_name) and self.class_name != setup.optimizer_name

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        values = {key: measured(value) for key, value in self.settings.items()}
        if self.swaps(setup):
            import keras

            optimizer = getattr(keras.optimizers, self.class_name)(
                **{key: value for key, value in values.items() if value is not None})
            return setup.with_changes(optimizer_config=keras.optimizers.serialize(optimizer))
        return setup.edit_optimizer(**values)

    def describe(self, setup: TrainSetup) -> str:
        keys = ["learning_rate"] + [key for key in self.settings if key != "learning_rate"]
        old = setup.optimizer_settings

        def call(name: str, settings: dict[str, Any]) -> str:
            parts = [f"{key}={shown(settings[key])}" for key in keys
                     if settings.get(key) is not None]
            return f"{name}({', '.join(parts)})"

        new = dict(self.settings) if self.swaps(setup) else {**old, **self.settings}
        return f"{call(setup.optimizer_name, old)} → {call(self.class_name or setup.optimizer_name, new)}"

    def touches(self) -> Touches:
        if self.class_name:
            return {("optimizer", WHOLE): self.class_name}
        return {("optimizer", key): value for key, value in self.settings.items()}


@dataclass
class WrapOptimizerEdit(SourceEdit):
    """Wrap the optimizer constructor in `{keras}.optimizers.<wrapper>(...)`."""

    wrapper: str

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "optimizer", calls.optimizer_call, "optimizer constructor")
        start, end = source.span(call)
        return [Replacement(start, end, f"{script.keras}.optimizers.{self.wrapper}({source.text[start:end]})")]

    def snippet(self, script: EditContext) -> str:
        return (f"optimizer = {script.keras}.optimizers.{self.wrapper}(optimizer)"
                f"{_at(script.origins.get('optimizer'))}")

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        import keras

        inner = keras.optimizers.deserialize(copy.deepcopy(setup.optimizer_config))
        wrapped = getattr(keras.optimizers, self.wrapper)(inner)
        return setup.with_changes(optimizer_config=keras.optimizers.serialize(wrapped))

    def describe(self, setup: TrainSetup) -> str:
        return f"{setup.optimizer_name}(...) → {self.wrapper}({setup.optimizer_name}(...))"

    def touches(self) -> Touches:
        return {("optimizer", WHOLE): self.wrapper}


@dataclass
class PolicyEdit(SourceEdit):
    """Give the script's `set_global_policy(...)` call another policy name: the layers that
    compute under one of the `replaces` policies get it."""

    policy: str
    replaces: tuple[str, ...] = ()

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Call) and callee_name(node) == "set_global_policy" and node.args:
                start, end = source.span(node.args[0])
                return [Replacement(start, end, format_value(self.policy, source.quote()))]
        raise Unpatchable("the set_global_policy call was not found")

    def snippet(self, script: EditContext) -> str:
        return (f"{script.keras}.mixed_precision.set_global_policy({format_value(self.policy, chr(34))})"
                "  # before the model is built")

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        return setup.edit_model(replace_policies(self.replaces, self.policy))

    def describe(self, setup: TrainSetup) -> str:
        return f"dtype policy {' / '.join(self.replaces) or 'of the script'} → {self.policy}"

    def touches(self) -> Touches:
        return {("policy", WHOLE): self.policy}


class _CompileSignature:
    """Model.compile's positional order: compile(optimizer, loss, ...)."""

    def __init__(self, optimizer=None, loss=None):  # pragma: no cover - signature only
        pass


@dataclass
class LossEdit(SourceEdit):
    """Replace the loss given to compile: a Keras loss by name ("binary_crossentropy", written
    quoted) or as `Code` (`keras.losses.CategoricalCrossentropy(from_logits=True)`)."""

    loss: str | Code
    was: str = ""  # the script's loss in words, for `describe`

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"keras"}) if isinstance(self.loss, Code) else frozenset()

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "compile", calls.compile_call, "compile call")
        code = format_value(self.loss, source.quote(), script.keras)
        return set_keyword(call, source, "loss", code, cls=_CompileSignature)

    def snippet(self, script: EditContext) -> str:
        code = format_value(self.loss, '"', script.keras)
        return f"model.compile(optimizer=optimizer, loss={code}, ...){_at(script.origins.get('compile'))}"

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        loss = self.loss.evaluate() if isinstance(self.loss, Code) else self.loss
        return setup.with_changes(loss=loss)

    def describe(self, setup: TrainSetup) -> str:
        return f"loss {self.was or setup.task.loss_name} → {shown(self.loss)}"

    def touches(self) -> Touches:
        return {("loss", WHOLE): str(self.loss)}


class _FitSignature:
    """Model.fit's positional order: fit(x, y, batch_size, epochs, ...)."""

    def __init__(self, x=None, y=None, batch_size=None, epochs=1):  # pragma: no cover - signature only
        pass


@dataclass
class FitEdit(SourceEdit):
    """Set keyword arguments (plain Python values) of the fit call."""

    settings: dict[str, Any]

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "fit", calls.fit_call, "fit call")
        out: list[Replacement] = []
        for keyword, value in self.settings.items():
            out += set_keyword(call, source, keyword, format_value(value, source.quote()), cls=_FitSignature)
        return out

    def snippet(self, script: EditContext) -> str:
        return f"model.fit(x, y, {_arguments(self.settings, chr(34))}, ...){_at(script.origins.get('fit'))}"

    MEASURED: ClassVar[tuple[str, ...]] = ("batch_size",)  # the fit arguments a probe can train

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        unknown = set(self.settings) - set(self.MEASURED)
        if unknown:
            raise NotImplementedError(f"a probe cannot measure fit({', '.join(sorted(unknown))}=...)")
        size = int(self.settings["batch_size"])
        draws = {seed: dataclass_replace(data, batch_size=size) for seed, data in setup.draws.items()} \
            if setup.draws else None
        return setup.with_changes(data=dataclass_replace(setup.data, batch_size=size), draws=draws)

    def describe(self, setup: TrainSetup) -> str:
        old = {"batch_size": setup.data.batch_size}
        before = ", ".join(f"{key}={old.get(key)}" for key in self.settings)
        after = ", ".join(f"{key}={value}" for key, value in self.settings.items())
        return f"fit({before}) → fit({after})"

    def touches(self) -> Touches:
        return {("fit", key): value for key, value in self.settings.items()}


@dataclass
class LayerEdit(SourceEdit):
    """Set keyword arguments (plain Python values) of the layer named `layer`."""

    layer: str
    settings: dict[str, Any]

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: EditContext) -> list[Replacement]:
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

    def snippet(self, script: EditContext) -> str:
        try:
            layer = script.setup.model.get_layer(self.layer)
        except (ValueError, AttributeError):
            layer = None
        kind = type(layer).__name__ if layer is not None else "layer"
        arguments = ", ".join(f"{k}={format_value(v, chr(34), script.keras)}" for k, v in self.settings.items())
        origin = getattr(layer, "_nanfix_origin", None)
        return f"{kind}(..., {arguments})  # layer {self.layer}{_at(origin, bare=True)}"

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        settings = {key: measured(value) for key, value in self.settings.items()}
        return setup.edit_model(set_layer_settings({self.layer: settings}))

    def describe(self, setup: TrainSetup) -> str:
        config = _layer_config(setup, self.layer)
        parts = []
        for key, value in self.settings.items():
            old = (config or {}).get("config", {}).get(key)
            if key == "activation":
                old = activation_name(config) if config else old
                value = value or "linear"
            parts.append(f"{key.removesuffix('_initializer') if key.endswith('_initializer') else key} "
                         f"{shown(old)} → {shown(value)}")
        return f"{_describe_layer(setup, self.layer)}: " + ", ".join(parts)

    def touches(self) -> Touches:
        return {(f"layer {self.layer}", key): value for key, value in self.settings.items()}


@dataclass
class InsertLayersEdit(SourceEdit):
    """New layers right after the constructor of layer `after`, in the script's own style:
    the next elements of a `Sequential([...])` list, or `model.add(...)` lines. `layers` are
    constructor code, `{keras}` the script's Keras prefix. With `activation`, the layer's own
    activation moves behind the new layers: its `activation=` goes, an `Activation` follows
    them (BatchNormalization before the nonlinearity)."""

    after: str
    layers: tuple[str, ...]
    activation: str | None = None
    needs: ClassVar[frozenset[str]] = frozenset({"keras"})

    @property
    def inserted(self) -> tuple[str, ...]:
        moved = (f"{{keras}}.layers.Activation({self.activation!r})",) if self.activation else ()
        return (*self.layers, *moved)

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        found = calls.layer_calls(script.setup.model, source)
        call = found.get(self.after)
        if call is None:
            raise Unpatchable(f"the constructor of layer {self.after} was not found")
        if sum(other is call for other in found.values()) > 1:
            raise Unpatchable("the call makes several layers")
        code = [layer.format(keras=script.keras) for layer in self.inserted]
        # the activation moves behind the new layers: the layer itself says it has none
        out = set_keyword(call, source, "activation", "None", cls=_layer_class(script, self.after)) \
            if self.activation else []
        parent = _parent(source.tree, call)
        if isinstance(parent, ast.List):
            return [*out, _after_list_element(source, parent, call, code)]
        if isinstance(parent, ast.Call) and callee_name(parent) == "add" and parent.args[:1] == [call]:
            statement = source.statement_at(parent)
            owner = source.segment(parent.func.value)
            indent = source.lines[statement.lineno - 1][:statement.col_offset]
            at = source.line_starts[statement.end_lineno]
            return [*out, Replacement(at, at, "".join(f"{indent}{owner}.add({line})\n" for line in code))]
        raise Unpatchable(f"layer {self.after} is neither in a Sequential list nor added with add()")

    def snippet(self, script: EditContext) -> str:
        code = ", ".join(layer.format(keras=script.keras) for layer in self.inserted)
        moved = f" (and drop its activation={self.activation!r})" if self.activation else ""
        return f"# after layer {self.after}{moved}:\n{code}"

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        import keras

        if self.activation:
            setup = setup.edit_model(set_layer_settings({self.after: {"activation": None}}))
        new = [keras.saving.serialize_keras_object(Code(layer).evaluate()) for layer in self.inserted]
        return setup.edit_model(insert_after(self.after, new))

    def describe(self, setup: TrainSetup) -> str:
        names = ", ".join(shown(Code(layer)).removesuffix("()") for layer in self.layers)
        moved = f" before its {self.activation} activation" if self.activation else " after it"
        return f"{_describe_layer(setup, self.after)}: {names}{moved}"

    def touches(self) -> Touches:
        touched: Touches = {(f"layer {self.after}", "layers after"): self.inserted}
        if self.activation:
            touched[(f"layer {self.after}", "activation")] = None
        return touched


@dataclass
class InputLayerEdit(SourceEdit):
    """A preprocessing layer at the model's input, so `evaluate`, `predict` and `model.save`
    see the inputs training saw: the new first element of a `Sequential([...])` list (after its
    `keras.Input`), or a `model.add(...)` before the first layer's.

    `Rescaling(1 / 255)` needs nothing else. `Normalization` is adapted to the inputs fit gets:
    the layer is made on its own line before the model (`normalizer = ...`), and
    `normalizer.adapt(x_train)` runs just before fit; the probe trains the same layer with the
    mean and variance that `adapt` computes from the data fit is given."""

    kind: str  # "rescale": divide by 255 | "normalize": zero mean, unit variance per feature
    needs: ClassVar[frozenset[str]] = frozenset({"keras"})

    def _first_layer(self, script: EditContext) -> tuple[ast.Call, ast.AST]:
        model, source = script.setup.model, script.source
        layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        found = calls.layer_calls(model, source)
        call = found.get(layers[0].name) if layers else None
        if call is None:
            raise Unpatchable("the model's first layer was not found")
        return call, _parent(source.tree, call)

    def _name(self, script: EditContext) -> str:
        return "normalizer" if "normalizer" not in script.source.text else "input_normalizer"

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        call, parent = self._first_layer(script)
        name = self._name(script)
        layer = f"{script.keras}.layers.Rescaling(1 / 255)" if self.kind == "rescale" else name
        out = []
        if isinstance(parent, ast.List):
            start, _ = source.span(call)
            line = source.lines[call.lineno - 1]
            one_per_line = not line[:call.col_offset].strip()
            indent = line[:len(line) - len(line.lstrip())]
            out.append(Replacement(start, start, f"{layer},\n{indent}" if one_per_line else f"{layer}, "))
            model_statement = source.statement_at(parent)
        elif isinstance(parent, ast.Call) and callee_name(parent) == "add" and parent.args[:1] == [call]:
            model_statement = source.statement_at(parent)
            owner = source.segment(parent.func.value)
            indent = source.lines[model_statement.lineno - 1][:model_statement.col_offset]
            at = source.line_starts[model_statement.lineno - 1]
            out.append(Replacement(at, at, f"{indent}{owner}.add({layer})\n"))
        else:
            raise Unpatchable("the model's first layer is neither in a Sequential list nor added with add()")
        if self.kind == "normalize":
            indent = source.lines[model_statement.lineno - 1][:model_statement.col_offset]
            at = source.line_starts[model_statement.lineno - 1]
            out.append(Replacement(at, at, f"{indent}{name} = {script.keras}.layers.Normalization()"
                                           "  # adapted to the training inputs before fit\n"))
            x = script.names.get("x")
            fit = _call_at(script, "fit", calls.fit_call, "fit call")
            if x is None or x not in calls.fit_names(source, script.origins).values():
                raise Unpatchable("fit's inputs are not a plain name to adapt the normalizer to")
            statement = source.statement_at(fit)
            indent = source.lines[statement.lineno - 1][:statement.col_offset]
            at = source.line_starts[statement.lineno - 1]
            out.append(Replacement(at, at, f"{indent}{name}.adapt({x})\n"))
        return out

    def snippet(self, script: EditContext) -> str:
        if self.kind == "rescale":
            return f"{script.keras}.layers.Rescaling(1 / 255),  # the model's first layer"
        x = script.names.get("x", "x_train")
        return (f"normalizer = {script.keras}.layers.Normalization()\n"
                f"# the model's first layer: normalizer\nnormalizer.adapt({x})  # before fit")

    def layer(self, setup: TrainSetup) -> dict:
        """The serialized layer the probe's model starts with."""
        import keras

        if self.kind == "rescale":
            return keras.saving.serialize_keras_object(keras.layers.Rescaling(1 / 255))
        x = np.asarray(setup.data.x)
        if setup.data.validation_split and setup.data.x_val is not None:
            x = np.concatenate([x, np.asarray(setup.data.x_val)])  # fit's x held both
        normalizer = keras.layers.Normalization()
        normalizer.adapt(x)
        return keras.saving.serialize_keras_object(keras.layers.Normalization(
            mean=np.asarray(normalizer.mean).reshape(-1).tolist(),
            variance=np.asarray(normalizer.variance).reshape(-1).tolist()))

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        return setup.edit_model(insert_first(self.layer(setup)))

    def describe(self, setup: TrainSetup) -> str:
        if self.kind == "rescale":
            return "inputs → Rescaling(1 / 255) as the model's first layer (evaluate and predict get it too)"
        return ("inputs → Normalization adapted to the training inputs, as the model's first layer "
                "(zero mean, unit variance per feature; evaluate and predict get it too)")

    def touches(self) -> Touches:
        return {("layer input", "first"): self.kind}


@dataclass
class CompileEdit(SourceEdit):
    """Set keyword arguments (plain values) of the compile call: `loss_weights` is the one a
    probe measures."""

    settings: dict[str, Any]
    MEASURED: ClassVar[tuple[str, ...]] = ("loss_weights",)

    def replace(self, script: EditContext) -> list[Replacement]:
        source = script.source
        call = _call_at(script, "compile", calls.compile_call, "compile call")
        out: list[Replacement] = []
        for keyword, value in self.settings.items():
            out += set_keyword(call, source, keyword, format_value(value, source.quote()), cls=_CompileSignature)
        return out

    def snippet(self, script: EditContext) -> str:
        return (f"model.compile(..., {_arguments(self.settings, chr(34))}){_at(script.origins.get('compile'))}")

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        unknown = set(self.settings) - set(self.MEASURED)
        if unknown:
            raise NotImplementedError(f"a probe cannot measure compile({', '.join(sorted(unknown))}=...)")
        return setup.with_changes(loss_weights=self.settings["loss_weights"])

    def describe(self, setup: TrainSetup) -> str:
        return f"compile({_arguments(self.settings, chr(34))})"

    def touches(self) -> Touches:
        return {("compile", key): value for key, value in self.settings.items()}


def _parent(tree: ast.AST, node: ast.AST) -> ast.AST | None:
    for candidate in ast.walk(tree):
        for child in ast.iter_child_nodes(candidate):
            if child is node:
                return candidate
    return None


def _after_list_element(source, elements: ast.List, call: ast.Call, code: list[str]) -> Replacement:
    """The new elements after `call`: each on its own line when the list has one per line."""
    _, end = source.span(call)
    index = elements.elts.index(call)
    following = elements.elts[index + 1] if index + 1 < len(elements.elts) else None
    one_per_line = following is not None and following.lineno > call.end_lineno or \
        (following is None and elements.end_lineno > call.end_lineno)
    if one_per_line:
        line = source.lines[call.lineno - 1]
        indent = line[:len(line) - len(line.lstrip())]
        text = "".join(f",\n{indent}{item}" for item in code)
    else:
        text = "".join(f", {item}" for item in code)
    return Replacement(end, end, text)


def _layer_class(script: EditContext, name: str) -> type | None:
    try:
        return type(script.setup.model.get_layer(name))
    except (ValueError, AttributeError):
        return None


def _layer_config(setup: TrainSetup, name: str) -> dict | None:
    try:
        return next((layer for layer in layer_configs(model_config(setup.model))
                     if layer.get("config", {}).get("name") == name), None)
    except Exception:  # noqa: BLE001 - a subclassed model has no layer configs
        return None


def _describe_layer(setup: TrainSetup, name: str) -> str:
    """'dense_1 (Dense, train.py:54)'."""
    try:
        layer = setup.model.get_layer(name)
    except (ValueError, AttributeError):
        return name
    origin = getattr(layer, "_nanfix_origin", None)
    return f"{name} ({type(layer).__name__}{', ' + origin if origin else ''})"


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
    summary: str = ""  # the change in words, with what it was measured on ("drop 12 rows ...")
    # repairs the rows themselves (drops or fills them): runs before other data edits
    repair: bool = False

    @property
    def first(self) -> bool:  # type: ignore[override]
        return self.repair

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        uses_numpy = any("{np}" in line for line in (*self.lines, *self.val_lines))
        return frozenset({"numpy"}) if uses_numpy else frozenset()

    @classmethod
    def replacements(cls, edits: list[SourceEdit], script: EditContext) -> list[Replacement]:
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

    def snippet(self, script: EditContext) -> str:
        names = {**script.names, "np": script.numpy}
        body = "\n".join(_fill(line, names) for line in (*self.lines, *self.val_lines))
        comment = f"# {self.comment}\n" if self.comment else ""
        return f"{comment}{body}\nmodel.fit({names['x']}, {names['y']}, ...)"

    def apply_to(self, setup: TrainSetup) -> TrainSetup:
        """The lines run on the captured arrays, as the patched script runs them before fit
        (on each seed's own draw, for a script that draws its data at random)."""
        draws = {seed: self.changed(data) for seed, data in setup.draws.items()} if setup.draws else None
        return setup.with_changes(data=self.changed(setup.data), draws=draws)

    def changed(self, data: Any) -> Any:
        """The training data the lines make of `data` (a `TrainingData`). Validation data that
        fit split off x (`validation_split`) is split from what the lines made, as Keras does;
        validation data given on its own gets `val_lines`."""
        split = data.validation_split if data.x_val is not None else 0.0
        names: dict[str, Any] = {"np": np, "x": data.x, "y": data.y}
        if split:
            names["x"], names["y"] = concatenate([data.x, data.x_val]), concatenate([data.y, data.y_val])
        elif data.x_val is not None:
            names["x_val"], names["y_val"] = data.x_val, data.y_val
        rows = len(names["x"])
        _run(self.lines, names)
        if data.x_val is not None and not split:
            _run(self.val_lines, names)
        x, y = _float32(names["x"]), names["y"]
        changed = dataclass_replace(data, x=x, y=y)
        if split:
            cut = int(len(x) * (1.0 - split))
            changed.x, changed.x_val = take(x, np.arange(cut)), take(x, np.arange(cut, len(x)))
            changed.y, changed.y_val = take(y, np.arange(cut)), take(y, np.arange(cut, len(y)))
        elif data.x_val is not None:
            changed.x_val, changed.y_val = _float32(names["x_val"]), names["y_val"]
        if data.sample_weight is not None and len(x) != rows and "keep" in names and not split:
            changed.sample_weight = np.asarray(data.sample_weight)[names["keep"]]
        return changed

    def describe(self, setup: TrainSetup) -> str:
        return self.summary or "; ".join(_fill(line, {"np": "np"}) for line in self.lines)


def _run(templates: tuple[str, ...], names: dict[str, Any]) -> None:
    """Run data-edit lines with the plain names x, y, x_val, y_val, np bound in `names`."""
    plain = {"x": "x", "y": "y", "x_val": "x_val", "y_val": "y_val", "np": "np"}
    code = "\n".join(template.format(**plain) for template in templates)
    exec(compile(code, "<nanfix data edit>", "exec"), names)  # noqa: S102 - nanfix's own lines


def _float32(array: Any) -> Any:
    """Float arrays as float32, as Keras trains them; other arrays (ids, nests) as they are."""
    if isinstance(array, np.ndarray) and array.dtype == np.float64:
        return array.astype("float32")
    return array


def _fill(template: str, names: dict[str, str]) -> str:
    """The template with the names it has; an unknown placeholder stays as its own name."""

    class Missing(dict):
        def __missing__(self, key):
            return key

    return template.format_map(Missing(names))
