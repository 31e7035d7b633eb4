"""Notebooks: `nanfix probe notebook.ipynb` runs the code cells as Jupyter would and names
cells and lines; `--apply` writes the fix back into the cells; `nanfix.probe` works inside a
real Jupyter kernel and shows the HTML report there."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import nbformat
import pytest
from test_cli_probe import nanfix

from nanfix import cli
from nanfix.capture import notebook

ROOT = Path(__file__).resolve().parent.parent
SEED000 = ROOT / "recipes" / "seed000_mnist_csv_sigmoid" / "notebook.ipynb"
NOTEBOOKS = Path(__file__).parent / "notebooks"


def test_seed000_s_notebook_is_probed_as_it_stands(tmp_path):
    output = tmp_path / "report.json"
    result = nanfix("probe", str(SEED000), "--seeds", "2", "--steps", "150", "--no-fixes",
                    "--no-progress", "-o", str(output))
    report = json.loads(output.read_text())
    assert result.returncode == 1 and report["verdict"] in ("stalls", "diverges"), report["error"]
    assert report["script"] == str(SEED000)
    origins = report["capture"]["origins"]
    assert origins["fit"] == "notebook.ipynb cell 8, line 2"  # under its %%time line
    assert origins["compile"] == "notebook.ipynb cell 7, line 8"
    pairing = next(f for f in report["findings"] if f["code"] == "P301")  # sigmoid under softmax CE
    assert pairing["where"] == "notebook.ipynb cell 7, line 5"
    notes = report["notebook"]["cells_skipped_or_changed"]
    assert any("!git clone" in note for note in notes) and any("%cd data" in note for note in notes)
    assert "_ipynb.py" not in json.dumps({k: v for k, v in report.items() if k != "script_output"})
    assert "Notebook: " in nanfix("probe", str(SEED000), "--seeds", "1", "--steps", "30",
                                  "--no-fixes", "--no-progress").stdout


def test_a_failing_cell_is_named_by_cell_and_line():
    result = nanfix("probe", str(NOTEBOOKS / "fails_in_a_cell.ipynb"), "--no-progress", "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["error"]["type"] == "script_error" and "data folder is missing" in report["error"]["message"]
    assert report["error"]["where"] == "fails_in_a_cell.ipynb cell 3, line 2"


def test_apply_writes_the_fix_into_the_cells_and_keeps_the_magics(tmp_path):
    copy = tmp_path / "notebook.ipynb"
    copy.write_text(SEED000.read_text())
    converted = notebook.to_script(str(copy))
    lines = converted.source.splitlines()
    sigmoid = next(i for i, line in enumerate(lines) if 'activation="sigmoid"' in line)
    reading = next(i for i, line in enumerate(lines) if line.startswith("x_train, y_train ="))
    patched = lines[:]
    patched[sigmoid] = patched[sigmoid].replace('"sigmoid"', '"softmax"')
    patched.insert(reading + 1, "x_train = x_train / 255.0")
    diff = "\n".join(difflib.unified_diff(lines, patched, "a", "b", lineterm="")) + "\n"
    written = cli._apply_to_notebook(str(copy), diff)  # what --apply does with the top fix's diff
    assert written == str(tmp_path / "notebook.nanfix.ipynb")
    cells = nbformat.read(written, as_version=4).cells
    assert 'activation="softmax"' in cells[6].source and 'activation="sigmoid"' not in cells[6].source
    assert "x_train, y_train =" in cells[4].source.split("x_train = x_train / 255.0")[0]
    assert cells[2].source == "!git clone https://github.com/DanorRon/data\n%cd data\n!ls"
    assert cells[7].source.startswith("%%time\n") and cells[0].cell_type == "markdown"
    assert copy.read_text() == SEED000.read_text()  # the user's notebook is never changed


def test_nanfix_probe_in_a_real_kernel_shows_the_html_report():
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.read(NOTEBOOKS / "probe_in_a_kernel.ipynb", as_version=4)
    nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = book.cells[-1].outputs
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "verdict: diverges" in printed
    shown = next(out for out in outputs if out.output_type == "execute_result")
    assert "text/html" in shown.data and "DIVERGES" in shown.data["text/html"].upper()
