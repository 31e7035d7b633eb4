"""Candidate fixes: choose, probe, rank (being written)."""

from __future__ import annotations


def find_fixes(setup, baseline, findings, settings, deadline, emit, capture=None):
    return []


def sweep_axis(setup, axis, grid, settings, deadline, emit):
    return None
