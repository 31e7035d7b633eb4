"""Re-run nanfix on every recipe and paste its terminal output into the recipe's README.

    .venv/bin/python recipes/_data/capture_output.py [NAME ...]

Everything from the README's "## nanfix output" heading to the end is replaced by the
command, the wall time of the run (TensorFlow's start included) and what nanfix printed,
100 columns wide, without colour. Run it after a change that alters the reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

RECIPES = Path(__file__).resolve().parent.parent
ROOT = RECIPES.parent
HEADING = "## nanfix output"


def capture(recipe: Path) -> str:
    args_file = recipe / "nanfix-args"
    args = args_file.read_text().split() if args_file.exists() else []
    script = recipe.relative_to(ROOT) / "train.py"
    command = ["nanfix", "probe", str(script), *args]
    environment = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "nanfix.cli", "probe", str(script), *args,
                             "--no-progress"], cwd=ROOT, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - started
    output = result.stdout.rstrip()
    return (f"{HEADING}\n\nCaptured from a real run on a 2-core CPU ({wall:.0f} s wall, TensorFlow's "
            f"start included; exit code {result.returncode}). Re-create it with "
            f"`python recipes/_data/capture_output.py {recipe.name}`.\n\n"
            f"```console\n$ {' '.join(command)}\n{output}\n```\n")


def main(names: list[str]) -> None:
    recipes = [RECIPES / name for name in names] if names else sorted(
        path.parent for path in RECIPES.glob("*/train.py"))
    for recipe in recipes:
        readme = recipe / "README.md"
        text = readme.read_text()
        before = text.split(HEADING)[0].rstrip() + "\n\n"
        readme.write_text(before + capture(recipe))
        print(f"updated {readme.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
