"""Which line of the user's script created a thing.

A report that says "layer dense_1" helps; one that says "dense_1, created at train.py:34"
lets the user (and a GitHub annotation) go straight to the line. We find it by walking the
Python stack at construction time to the innermost frame that belongs to the user's script.
"""

from __future__ import annotations

import os
import sys


def user_line(script_path: str) -> str | None:
    """'train.py:34' for the innermost frame of the running script, or None."""
    target = os.path.realpath(script_path)
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == script_path or os.path.realpath(filename) == target:
            return f"{os.path.basename(script_path)}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def line_number(origin: str | None) -> int | None:
    if not origin or ":" not in origin:
        return None
    try:
        return int(origin.rsplit(":", 1)[1])
    except ValueError:
        return None


def remember(obj: object, attribute: str, value: object) -> None:
    """Set a private attribute on a Keras object without Keras tracking it."""
    try:
        object.__setattr__(obj, attribute, value)
    except (AttributeError, TypeError):
        pass
