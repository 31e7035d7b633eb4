r"""A fix as a change to the user's own script: a unified diff where every call the fix
touches can be found in the source, and a short snippet always.

`render` makes both: each kind of edit writes its own replacements (`edits.py`), the imports
the new code needs are added after the script's last import, and everything else in the file
keeps the user's formatting. When an edit's call cannot be found (a layer built in a loop
with other layers that must not change, an input that is not a plain name) there is no diff
and the snippet says what to change.

`render(fix.edits, fix.id, setup, capture)` gives both; `patch_text` is the patched text:

>>> from types import SimpleNamespace
>>> from nanfix.fixes.source.edits import OptimizerEdit
>>> setup = SimpleNamespace(optimizer_name="SGD", optimizer_settings={"learning_rate": 3.0})
>>> script = EditContext(Source("opt = keras.optimizers.SGD(learning_rate=3.0)\n"), setup,
...                      {"optimizer": "train.py:1"})
>>> patch_text(script, [OptimizerEdit({"learning_rate": 0.3})])
'opt = keras.optimizers.SGD(learning_rate=0.3)\n'
"""

from __future__ import annotations

import ast
import difflib
import os
from typing import Any

from nanfix.fixes.source.edits import EditContext, SourceEdit
from nanfix.fixes.source.parse import Source
from nanfix.fixes.source.text import Replacement, Unpatchable, apply_replacements


def read_source(script: str | None) -> Source | None:
    """The script's source, or None when it cannot be read or parsed."""
    if not script or not os.path.exists(script):
        return None
    try:
        with open(script, encoding="utf-8") as handle:
            return Source(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def render(edits: list[SourceEdit], fix_id: str, setup: Any, capture: Any) -> tuple[str | None, str]:
    """(unified diff of the script, or None where a call could not be found; snippet)."""
    path = getattr(capture, "script", None)
    origins = dict(getattr(capture, "origins", {}) or {})
    source = read_source(path)
    script = EditContext.of(source, setup, origins)
    snippet = "\n".join(edit.snippet(script) for edit in edits)
    if source is None or not edits:
        return None, snippet
    try:
        patched = patch_text(script, edits)
    except Unpatchable:
        return None, snippet
    if patched == source.text:
        return None, snippet
    name = os.path.basename(path)
    diff = "".join(difflib.unified_diff(source.text.splitlines(keepends=True),
                                        patched.splitlines(keepends=True),
                                        fromfile=name, tofile=f"{name} (nanfix: {fix_id})"))
    return diff, snippet


def by_kind(edits: list[SourceEdit]) -> dict[type, list[SourceEdit]]:
    """The edits grouped by their kind, kinds in the order they first appear."""
    groups: dict[type, list[SourceEdit]] = {}
    for edit in edits:
        groups.setdefault(type(edit), []).append(edit)
    return groups


def patch_text(script: EditContext, edits: list[SourceEdit]) -> str:
    """The script's text with every edit made; raises Unpatchable."""
    source = script.source
    replacements: list[Replacement] = []
    for kind, group in by_kind(edits).items():
        replacements += kind.replacements(group, script)
    needs = {module for edit in edits for module in edit.needs}
    imports = []
    keras_import = source.keras_prefix()[1]
    if "keras" in needs and keras_import and any(script.keras + "." in r.text for r in replacements):
        imports.append(keras_import)
    numpy_import = source.numpy_alias()[1]
    if "numpy" in needs and numpy_import:
        imports.append(numpy_import)
    if imports:
        at = _import_position(source)
        replacements.append(Replacement(at, at, "".join(line + "\n" for line in imports)))
    return apply_replacements(source.text, replacements)


def _import_position(source: Source) -> int:
    """Just after the script's last top-level import (or at the top)."""
    last = None
    for node in source.tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node
    if last is None:
        return 0
    return source.line_starts[last.end_lineno]
