"""The report as JSON-ready data: the one shape every renderer and every machine reads.

The schema is versioned (`schema: "nanfix.report/1"`), documented in README.md and published
as nanfix/report/schema.json. Non-finite numbers are null: JSON has no NaN. Nothing is
judged here: the likely cause, the verdict and every outcome come from the pipeline.
"""

from __future__ import annotations

from typing import Any

from nanfix import __version__
from nanfix.records import SCHEMA_VERSION, FixResult, ProbeResult, Report, SeedRun, plain


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "nanfix_version": __version__,
        "script": report.script,
        "argv": list(report.argv),
        "verdict": report.verdict.value,
        "verdict_reason": report.verdict_reason,
        "summary": report.baseline.summary() if report.baseline else None,
        "likely_cause": plain(report.likely_cause) if report.likely_cause else None,
        "capture": plain(report.capture),
        "baseline": probe_to_dict(report.baseline) if report.baseline else None,
        "findings": [plain(finding) for finding in report.findings],
        "fixes": [fix_to_dict(fix) for fix in report.fixes],
        "sweep": plain(report.sweep) if report.sweep else None,
        "budget": plain(report.budget) if report.budget else None,
        "resume": plain(report.resume) if report.resume else None,
        "error": plain(report.error) if report.error else None,
        "elapsed_s": round(report.elapsed_s, 3),
        "settings": plain(report.settings),
        "script_output": report.script_output,
    }


def probe_to_dict(result: ProbeResult, history: bool = True) -> dict[str, Any]:
    first = result.first_nonfinite
    return {
        "label": result.label,
        "seeds": result.seeds,
        "seeds_ok": result.seeds_ok,
        "failed_seeds": result.failed_seeds,
        "steps": result.steps,
        "summary": result.summary(),
        "first_nonfinite": plain(first) if first else None,
        "first_bad_step": first.step if first else None,
        "first_bad_layer": first.layer if first else None,
        "elapsed_s": round(result.elapsed_s, 3),
        "runs": [run_to_dict(run, history) for run in result.runs],
    }


def run_to_dict(run: SeedRun, history: bool = True) -> dict[str, Any]:
    data = {
        "seed": run.seed,
        "outcome": run.outcome.value,
        "reason": run.reason,
        "stall": run.stall.value if run.stall else None,
        "steps_run": run.steps_run,
        "start_loss": run.start_loss,
        "final_loss": run.final_loss,
        "best_loss": run.best_loss,
        "train_accuracy": run.train_accuracy,
        "val_loss": run.val_loss,
        "val_accuracy": run.val_accuracy,
        "learned": run.learned,
        "first_nonfinite": plain(run.first_nonfinite) if run.first_nonfinite else None,
        "signals": plain(run.signals),
        "elapsed_s": round(run.elapsed_s, 3),
    }
    if history:
        data["loss_history"] = plain(run.loss)
        data["grad_norm_history"] = plain(run.grad_norm)
    return data


def fix_to_dict(fix: FixResult) -> dict[str, Any]:
    probe = fix.probe
    return {
        "rank": fix.rank,
        "id": fix.id,
        "family": fix.family,
        "families": list(fix.families),
        "title": fix.title,
        "changes": list(fix.changes),
        "outcome": fix.outcome.value,
        "seeds_ok": fix.seeds_ok,
        "seeds": fix.seeds,
        "final_loss": probe.median("final_loss") if probe else None,
        "val_accuracy": probe.median("val_accuracy") if probe else None,
        "summary": probe.summary() if probe else None,
        "note": fix.note,
        "data_fix": fix.data_fix,
        "data_change": fix.data_change,
        "verified": fix.verified,
        "size": fix.size,
        "diff": fix.diff,
        "snippet": fix.snippet,
        "runs": [run_to_dict(run, history=True) for run in probe.runs] if probe else [],
    }


__all__ = ["report_to_dict", "probe_to_dict", "fix_to_dict", "FixResult"]
