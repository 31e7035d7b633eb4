"""Every file nanfix writes (reports, patched scripts, flight records) is written here, one way.

A file is written to a temporary file in its folder and renamed over the target: a link
planted at the target is replaced itself, never followed to the file it points at, and a
half-written file is never left behind. `check_writable` says up front, before any work,
why a path given on the command line cannot be written.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = write_text(os.path.join(folder, "report.md"), "# nanfix\\n")
>>> open(path).read(), check_writable(os.path.join(folder, "missing", "r.json")).endswith("does not exist")
('# nanfix\\n', True)
"""

from __future__ import annotations

import os
import tempfile


def write_text(path: str, text: str) -> str:
    """Write `text` as the file `path` (see the module's docstring); returns `path`."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".nanfix-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def check_writable(path: str) -> str | None:
    """Why `path` cannot be written as a file (its folder missing or read-only, a folder in its
    place), or None."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"its folder {folder} does not exist"
    if os.path.isdir(path) and not os.path.islink(path):
        return "it is a folder"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable"
    return None
