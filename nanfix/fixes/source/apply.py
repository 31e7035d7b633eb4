r"""Writing the patched script: apply a diff that `render` made to the script as it is now,
as `train.nanfix.py` next to `train.py`, never over it.

`apply_patch("train.py", diff)` writes `train.nanfix.py` next to `train.py`; `apply_diff` is
the same change on text:

>>> diff = ("--- train.py\n+++ train.py (nanfix: lr-0.3)\n@@ -1 +1 @@\n"
...         "-opt = SGD(learning_rate=3.0)\n+opt = SGD(learning_rate=0.3)\n")
>>> apply_diff("opt = SGD(learning_rate=3.0)\n", diff)
'opt = SGD(learning_rate=0.3)\n'
"""

from __future__ import annotations

import os
import re
from typing import Any

from nanfix.files import write_text


class PatchError(Exception):
    """The diff does not apply to the script as it is now."""


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


def apply_patch(script_path: str, diff_or_fix: Any, in_place: bool = False) -> str:
    """Write the patched script as `train.nanfix.py` next to `train.py` (never over it), or,
    `in_place`, over `train.py` after keeping it as `train.py.orig`. Returns the path written.

    `diff_or_fix` is a diff's text or anything with a `.diff` (a FixResult). The diff must apply
    to the script as it is now (PatchError otherwise: it changed since the probe read it). A
    file is written by replacing it (a temporary file renamed over it), so a symbolic link
    planted at the target is replaced, never followed to the file it points at.
    """
    diff = diff_or_fix if isinstance(diff_or_fix, str) else getattr(diff_or_fix, "diff", None)
    if not diff:
        raise PatchError("this fix has no diff to apply; see its snippet")
    with open(script_path, encoding="utf-8") as handle:
        text = handle.read()
    patched = apply_diff(text, diff)
    if in_place:
        backup = f"{script_path}.orig"
        if os.path.lexists(backup):
            raise PatchError(f"{backup} exists already: move it away first (it may be your only copy)")
        write_text(backup, text)
        write_text(script_path, patched)
        return script_path
    target = patched_path(script_path)
    if os.path.abspath(target) == os.path.abspath(script_path):
        raise PatchError("refusing to overwrite the script itself")
    write_text(target, patched)
    return target
