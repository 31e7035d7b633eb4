"""The package's shape: the pipeline's stages as sub-packages, imports in one direction only.

Every import statement of every module (those inside functions too) is read from the source,
so a lazy import that reaches back up the pipeline counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nanfix"

# The pipeline, in order: a module may import from its own stage and from earlier ones only.
# The plain records, the settings, the exit codes and safe writes are the foundation every stage stands
# on; the entry points (the CLI, the session, the executor, the guard, reading settings
# files, which checks family names against the fix catalog) may import every stage.
STAGES = [
    ("foundation", ("nanfix", "nanfix.records", "nanfix.config", "nanfix.exitcodes", "nanfix.files")),
    ("capture", ("nanfix.capture",)),
    ("findings", ("nanfix.findings",)),
    ("probes", ("nanfix.probes",)),
    ("fixes", ("nanfix.fixes",)),
    ("sweep", ("nanfix.sweep",)),
    ("report", ("nanfix.report",)),
    ("entry", ("nanfix.session", "nanfix.cli", "nanfix.api", "nanfix.keras", "nanfix.executor", "nanfix.guard",
               "nanfix.config.sources", "nanfix.config.plan")),
]
MAX_TOP_LEVEL_MODULES = 8


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The nanfix modules `name` imports (`from a import b` is a.b when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return {imported for imported in found if imported in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def stage_of(name: str) -> int:
    """The index of the stage a module belongs to: the longest matching prefix wins."""
    best, length = None, -1
    for index, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    assert best is not None, f"{name} belongs to no stage: add it to STAGES"
    return best


def test_the_graph_sees_the_imports():
    edges = graph()
    assert "nanfix.fixes.catalog" in edges["nanfix.sweep.search"] or \
        "nanfix.fixes" in edges["nanfix.sweep.search"]
    assert "nanfix.records" in edges["nanfix.findings.catalog"]


def test_no_stage_imports_a_later_one():
    backward = []
    for name, imported in graph().items():
        for target in imported:
            if stage_of(target) > stage_of(name):
                backward.append(f"{name} ({STAGES[stage_of(name)][0]}) imports {target} "
                                f"({STAGES[stage_of(target)][0]})")
    assert not backward, "imports that reach back up the pipeline:\n" + "\n".join(sorted(backward))


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_top_level_holds_only_the_entry_the_pipeline_and_the_foundation():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    stages = {name for name, _ in STAGES} - {"foundation", "entry"}
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert stages <= packages, stages - packages


def test_the_catalogs_load_without_tensorflow():
    """The CLI checks plans and prints the rules before any worker starts TensorFlow."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
            "import nanfix.fixes, nanfix.findings, nanfix.config.sources\n"
            "print(len(nanfix.fixes.FAMILIES), len(nanfix.findings.RULES))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    families, rules = (int(n) for n in result.stdout.split())
    assert families >= 12 and rules >= 30


def test_each_finding_fix_link_is_declared_by_a_family_only():
    """The link lives in the fix families: no rule names fixes, and every code a family
    answers is a finding that exists."""
    from nanfix import findings, fixes

    for code, rule in findings.RULES.items():
        assert not hasattr(rule, "fixes"), code
    for family in fixes.FAMILIES.values():
        unknown = set(family.answers) - set(findings.RULES)
        assert not unknown, (family.name, unknown)
    assert fixes.families_for("D105") == ["target_scaling"]
