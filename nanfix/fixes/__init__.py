"""Fixes: the catalog of candidate changes. Importing this package registers every family.

Each family is one module (every module here but `catalog` and `helpers`), found and imported
when this package loads, with one registered function that proposes concrete `Fix`es for a
training setup and declares the findings it answers (`nanfix.fixes.catalog`). `plan` picks and
orders the candidates a sweep probes: first the fixes that answer the findings (the most
severe first), then the rest of the catalog, within `Settings.families`, `Settings.grids` and
`Settings.max_fixes`. A fix is its source edits (`nanfix.fixes.source.edits`): they write the
diff and make what the probe measures.

>>> from nanfix import fixes
>>> fixes.families_for("D104")
['input_scaling']
"""

from __future__ import annotations

import importlib
import pkgutil

from nanfix.fixes.catalog import (
    FAMILIES,
    Family,
    Fix,
    by_priority,
    candidates,
    families_for,
    family,
    family_order,
    link,
    plan,
)

# Every module here but the catalog's own is a family: importing it registers it, so adding a
# family is adding its module.
NOT_FAMILIES = {"catalog", "helpers", "source"}
for _module in sorted(pkgutil.iter_modules(__path__), key=lambda found: found.name):
    if _module.name not in NOT_FAMILIES:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FAMILIES", "Family", "Fix", "by_priority", "candidates",
           "families_for", "family", "family_order", "link", "plan"]
