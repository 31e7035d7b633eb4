r"""Text primitives: a `Replacement` of a span of the script, keyword arguments set, added or
removed on a call, and the replacements applied together.

>>> source = Source("SGD(learning_rate=3.0, momentum=0.9)\n")
>>> call = source.tree.body[0].value
>>> apply_replacements(source.text, set_keyword(call, source, "learning_rate", "0.3")
...                                 + set_keyword(call, source, "momentum", None))
'SGD(learning_rate=0.3)\n'
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import Any

from nanfix.fixes.source.parse import Source


@dataclass
class Replacement:
    start: int
    end: int
    text: str


class Unpatchable(Exception):
    """This edit's call could not be found in the source; fall back to the snippet."""


@dataclass(frozen=True)
class Code:
    """A value written as code, not as a Python literal: `{keras}` is the script's Keras
    module (keras.regularizers.L2(0.0001))."""

    text: str

    def written(self, keras: str) -> str:
        return self.text.format(keras=keras)

    def evaluate(self) -> Any:
        """The object this code makes, as the patched script makes it (what a probe trains)."""
        import keras

        return eval(self.written("keras"), {"keras": keras, "__builtins__": {}})  # noqa: S307 - our own code

    def __str__(self) -> str:
        return self.written("keras")


def format_value(value: Any, quote: str, keras: str = "keras") -> str:
    if isinstance(value, Code):
        return value.written(keras)
    if isinstance(value, str):
        body = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
        return f"{quote}{body}{quote}"
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    return repr(value)


def positional_index(cls: type | None, keyword: str) -> int | None:
    if cls is None:
        return None
    try:
        names = [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
                 if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    names = names[1:]  # self
    return names.index(keyword) if keyword in names else None


def set_keyword(call: ast.Call, source: Source, keyword: str, code: str | None,
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
    index = positional_index(cls, keyword)
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


def apply_replacements(text: str, replacements: list[Replacement]) -> str:
    ordered = sorted(replacements, key=lambda r: (r.start, r.end))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise Unpatchable("two edits touch the same text")
    for replacement in reversed(ordered):
        text = text[:replacement.start] + replacement.text + text[replacement.end:]
    return text
