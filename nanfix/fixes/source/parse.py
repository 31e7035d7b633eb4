"""The user's script as text plus its syntax tree, with character offsets for ast positions.

Edits (`edits.py`) find their call in the tree and rewrite only its text, so everything else
in the file keeps the user's formatting. This module also says how the script spells Keras
and NumPy, so added code uses the script's own names.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


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
            if isinstance(candidate, ast.stmt) and contains(candidate, node):
                if best is None or contains(best, candidate):
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


def contains(outer: ast.AST, inner: ast.AST) -> bool:
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
