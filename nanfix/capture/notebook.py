"""A notebook as the program Jupyter runs: its code cells in order, as one script.

`nanfix probe notebook.ipynb` turns the notebook into a plain Python script and runs it like
any script, up to the first `fit`, in the notebook's folder (a kernel's working directory).
What is not Python is handled as a user would expect, and each time noted in the report:

- shell lines (`!pip install ...`, `!git clone ...`) are skipped: nanfix installs nothing and
  fetches nothing;
- `%cd DIR` changes directory, as in the kernel; `%env NAME=VALUE` sets it; `%time STATEMENT`
  and `%timeit STATEMENT` run the statement; other line magics (`%matplotlib inline`,
  `%load_ext`, `%pip`) are skipped;
- `%%time`, `%%timeit` and `%%capture` run their cell; a cell under any other cell magic
  (`%%bash`, `%%writefile`, `%%html`) is skipped;
- `display(...)` and `get_ipython()` exist (a kernel provides them) and do nothing;
- help lines (`model.fit?`) are skipped.

Every line of the script knows its cell and line, so a report says "notebook.ipynb cell 4,
line 2" (cells counted from 1, markdown cells included, as they appear in the notebook), and
`to_notebook` writes a patched script back into the cells for `--apply`.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from nanfix.records import map_strings

# Line magics that run their statement, and cell magics that run their cell.
RUN_STATEMENT = {"time", "timeit", "prun"}
RUN_CELL = {"time", "timeit", "capture", "prun"}

PRELUDE = [
    "import builtins as _nanfix_builtins, os as _nanfix_os, sys as _nanfix_sys  # nanfix: the kernel's",
    "_nanfix_sys.path.insert(0, {folder!r})",
    "_nanfix_builtins.display = getattr(_nanfix_builtins, 'display', lambda *args, **kwargs: None)",
    "_nanfix_builtins.get_ipython = getattr(_nanfix_builtins, 'get_ipython', lambda: None)",
]


class NotebookError(Exception):
    """The file is not a notebook nanfix can read."""


@dataclass
class Converted:
    """The notebook's script, and for each of its lines the cell and line it came from."""

    notebook: str  # path of the .ipynb
    source: str
    # per script line (index = line number - 1): (cell, line, the cell's own text), 1-based;
    # None for the prelude and the blank line between cells
    origins: list[tuple[int, int, str] | None]
    notes: list[str] = field(default_factory=list)

    def where(self, line: int) -> str | None:
        """"notebook.ipynb cell 4, line 2" for a line of the script."""
        if not 1 <= line <= len(self.origins) or self.origins[line - 1] is None:
            return None
        cell, row, _ = self.origins[line - 1]
        return f"{os.path.basename(self.notebook)} cell {cell}, line {row}"


def read(path: str) -> Any:
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds for a bad file
        raise NotebookError(f"{path} is not a Jupyter notebook nanfix can read "
                            f"({type(error).__name__}: {error}).") from None


def to_script(path: str) -> Converted:
    """The notebook's code cells, in order, as one script."""
    notebook = read(path)
    folder = os.path.dirname(os.path.abspath(path))
    lines = [line.format(folder=folder) for line in PRELUDE]
    origins: list[tuple[int, int, str] | None] = [None] * len(lines)
    notes: list[str] = []
    for cell_number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell_lines = cell.source.split("\n")
        converted = _cell(cell_lines, cell_number, notes)
        for row, (text, original) in enumerate(zip(converted, cell_lines, strict=True), start=1):
            lines.append(text)
            origins.append((cell_number, row, original))
        lines.append("")
        origins.append(None)
    return Converted(notebook=path, source="\n".join(lines) + "\n", origins=origins, notes=notes)


def _cell(lines: list[str], cell: int, notes: list[str]) -> list[str]:
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].strip()[2:].split()[0] if lines[first].strip()[2:] else ""
        if name in RUN_CELL:
            return [*lines[:first], "pass", *[_line(line, cell, row, notes)
                                             for row, line in enumerate(lines[first + 1:], start=first + 2)]]
        notes.append(f"cell {cell}: skipped (%%{name} cell magic)")
        return ["pass" if index == first else "" for index in range(len(lines))]
    return [_line(line, cell, row, notes) for row, line in enumerate(lines, start=1)]


def _line(line: str, cell: int, row: int, notes: list[str]) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    where = f"cell {cell}, line {row}"
    if stripped.startswith("!"):
        notes.append(f"{where}: skipped shell line `{stripped}`")
        return indent + "pass"
    if stripped.startswith("%") and not stripped.startswith("%%"):
        name, _, rest = stripped[1:].partition(" ")
        rest = rest.strip()
        if name == "cd" and rest:
            # as in IPython, a folder that is not there (a skipped `!git clone`'s) is not fatal
            notes.append(f"{where}: `%cd {rest}` changes directory where that folder exists, as in the kernel")
            folder = f"_nanfix_os.path.expanduser({_unquoted(rest)!r})"
            return indent + f"_nanfix_os.path.isdir({folder}) and _nanfix_os.chdir({folder})"
        if name == "env" and "=" in rest:
            key, _, value = rest.partition("=")
            return indent + f"_nanfix_os.environ[{key.strip()!r}] = {value.strip()!r}"
        if name in RUN_STATEMENT and rest:
            return indent + re.sub(r"^(-\S+\s+(\d+\s+)?)*", "", rest)
        notes.append(f"{where}: skipped `%{name}` line magic")
        return indent + "pass"
    if re.fullmatch(r"[\w.\[\]()'\"]+\?\??", stripped):
        return indent + "pass"  # `model.fit?`: help, in a kernel
    return line


def _unquoted(text: str) -> str:
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"" else text


def relocate(value: Any, script_name: str, converted: Converted) -> Any:
    """A report (or any part of one) with every "script.py:N" of the generated script told
    as the notebook's "notebook.ipynb cell C, line L"."""
    pattern = re.compile(rf"{re.escape(script_name)}:(\d+)")

    def move(match: re.Match) -> str:
        return converted.where(int(match.group(1))) or os.path.basename(converted.notebook)

    return map_strings(value, lambda text: pattern.sub(move, text))


def to_notebook(converted: Converted, patched: str, path: str) -> str:
    """Write the notebook with the patched script's lines put back into their cells (magics and
    shell lines as they were) at `path`; returns `path`."""
    import nbformat

    notebook = read(converted.notebook)
    before = converted.source.splitlines()
    after = patched.splitlines()
    cells: dict[int, list[str]] = {}

    def cell_near(index: int) -> int | None:
        for position in list(range(index, len(before))) + list(range(index - 1, -1, -1)):
            if 0 <= position < len(before) and converted.origins[position] is not None:
                return converted.origins[position][0]
        return None

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            for index in range(i1, i2):
                origin = converted.origins[index]
                if origin is not None:
                    cells.setdefault(origin[0], []).append(origin[2])
            continue
        # changed or inserted lines join the cell of the line they replace, or else the cell
        # of the line before them (an inserted line follows the statement it belongs to)
        cell = cell_near(i1) if tag == "replace" else (cell_near(i1 - 1) if i1 else cell_near(0))
        if cell is not None:
            cells.setdefault(cell, []).extend(after[j1:j2])
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code" and number in cells:
            cell.source = "\n".join(cells[number])
    nbformat.write(notebook, path)
    return path


def patched_path(path: str) -> str:
    stem, _ = os.path.splitext(path)
    return f"{stem}.nanfix.ipynb"
