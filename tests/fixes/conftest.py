"""Setup every fix-family test in tests/fixes needs, before its module is imported.

The capture hooks are installed (variables remember their initializers, so probes can redraw
them per seed) and capturing is stopped (GradientTape works for our own training); and no
test has a time target: every planned candidate is measured.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from nanfix.capture import hooks as capture  # noqa: E402

capture.install_hooks(__file__)  # variables remember their initializers (per-seed redraws)
capture.stop_capturing()  # ...and GradientTape works for our own training

from nanfix.sweep import budget  # noqa: E402


@pytest.fixture(autouse=True)
def no_time_target(monkeypatch):
    """Measure every planned candidate: no budget but the plan's own max_fixes."""
    monkeypatch.setattr(budget, "REFERENCE_SECONDS", None)
