"""The report as JUnit XML, the test-result format Jenkins, GitLab and most CI servers show.

One `<testsuite name="nanfix">` holds:

* one testcase per baseline seed (`classname="nanfix.probes.<script stem>"`, `name="seed N"`):
  passed when the seed trained healthily; `<failure>` when it diverged or stalled, with the
  finding codes as the failure `type` and their messages as the failure `message`, so the CI
  page says *why* without opening the log; `<error>` when the seed crashed or timed out
  (there is no verdict on training to judge).
* one testcase per candidate fix that was probed (`classname="nanfix.fixes"`), which are
  advice, not tests of the user's code: a fix that **cures** every seed passes (its diff is in
  `<system-out>`), the others are `<skipped>` with their measured outcome as the message. A
  red row for every rejected candidate would bury the real failure, and a CI server counts a
  skipped test as neither passing nor failing, which is what an untried-in-practice idea is.
* for a run that could not be judged (`verdict: error`: the script raised, never reached
  fit, crashed, hung or ran out of memory), one testcase `name="run"` with `<error>`.

Each seed's row reports what happened to that seed, whatever `--fail-on` says: under
`check --fail-on diverges` a stalling seed is still a failed row although the exit code is 0.
The exit code is the gate; the XML is the record.

On the command line::

    nanfix check train.py --junit nanfix.xml
    # GitLab: artifacts: reports: junit: nanfix.xml
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

from nanfix.files import write_text

SUITE = "nanfix"
FAILED_OUTCOMES = {"diverged", "stalled"}
ERROR_OUTCOMES = {"crashed", "timed_out"}
# XML 1.0 cannot carry most control characters (a script's ANSI colour codes, say).
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return INVALID_XML.sub("", "" if value is None else str(value))


def _number(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _seconds(value: Any) -> str:
    return f"{float(value or 0.0):.3f}"


def _seed_findings(report: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Findings that concern this seed: those naming it in their evidence, and global ones."""
    related = []
    for finding in report.get("findings") or []:
        evidence = finding.get("evidence") or {}
        seeds = evidence.get("seeds")
        if isinstance(seeds, list):
            if seed in seeds:
                related.append(finding)
        elif "seed" in evidence:
            if evidence["seed"] == seed:
                related.append(finding)
        else:
            related.append(finding)
    return related


def _case(suite: ET.Element, classname: str, name: str, seconds: Any) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time=_seconds(seconds))


def _seed_case(suite: ET.Element, report: dict[str, Any], classname: str, run: dict[str, Any]) -> str:
    case = _case(suite, classname, f"seed {run['seed']}", run.get("elapsed_s"))
    outcome = run["outcome"]
    details = [f"outcome: {outcome} after {run.get('steps_run')} steps: {run.get('reason') or ''}",
               f"loss {_number(run.get('start_loss'))} -> {_number(run.get('final_loss'))}, "
               f"accuracy {_number(run.get('val_accuracy'))}"]
    if outcome in FAILED_OUTCOMES or outcome in ERROR_OUTCOMES:
        findings = [f for f in _seed_findings(report, run["seed"]) if f["severity"] != "info"]
        if findings:
            message = "; ".join(f"{f['code']}: {f['message']}" for f in findings)
            kind = findings[0]["code"]  # the catalog lists the most severe first
        else:
            message, kind = f"{outcome}: {run.get('reason') or ''}", outcome
        for finding in findings:
            where = f" (at {finding['where']})" if finding.get("where") else ""
            details.append(f"{finding['code']} {finding['title']}{where}: {finding['message']}\n"
                           f"    `nanfix explain {finding['code']}` says why and how to fix it.")
        tag = "failure" if outcome in FAILED_OUTCOMES else "error"
        element = ET.SubElement(case, tag, message=_text(message), type=_text(kind))
        element.text = _text("\n".join(details))
        return tag
    ET.SubElement(case, "system-out").text = _text("\n".join(details))
    return "passed"


def _fix_case(suite: ET.Element, fix: dict[str, Any]) -> str:
    name = f"#{fix.get('rank')} {fix['id']}: {fix['title']}"
    seconds = sum(run.get("elapsed_s") or 0.0 for run in fix.get("runs") or [])
    case = _case(suite, "nanfix.fixes", name, seconds)
    measured = (f"{fix['outcome']}: {fix['seeds_ok']}/{fix['seeds']} seeds healthy, "
                f"loss {_number(fix.get('final_loss'))}, accuracy {_number(fix.get('val_accuracy'))}")
    body = [measured, "changes: " + "; ".join(fix.get("changes") or [])]
    if fix.get("note"):
        body.append(fix["note"])
    if fix["outcome"] == "cures":
        if fix.get("diff") or fix.get("snippet"):
            body.append(fix.get("diff") or fix.get("snippet"))
        ET.SubElement(case, "system-out").text = _text("\n".join(body))
        return "passed"
    skipped = ET.SubElement(case, "skipped", message=_text(measured))
    skipped.text = _text("\n".join(body))
    return "skipped"


def _error_case(suite: ET.Element, report: dict[str, Any], classname: str) -> None:
    error = report.get("error") or {}
    case = _case(suite, classname, "run", report.get("elapsed_s"))
    body = [error.get("message") or ""]
    if error.get("where"):
        body.append(f"at {error['where']}")
    if error.get("hint"):
        body.append(error["hint"])
    if error.get("detail"):
        body.append(error["detail"])
    element = ET.SubElement(case, "error", message=_text(error.get("message") or "nanfix failed"),
                            type=_text(error.get("type") or "error"))
    element.text = _text("\n".join(body))
    if report.get("script_output"):
        ET.SubElement(case, "system-out").text = _text(report["script_output"])


def _verdict_case(suite: ET.Element, report: dict[str, Any], classname: str) -> str:
    case = _case(suite, classname, "verdict", report.get("elapsed_s"))
    verdict = report.get("verdict") or "error"
    if verdict in ("diverges", "stalls"):
        ET.SubElement(case, "failure", message=_text(report.get("summary") or verdict), type=verdict)
        return "failure"
    return "passed"


def build(report: dict[str, Any]) -> ET.Element:
    """The <testsuites> element for a report."""
    stem = os.path.splitext(os.path.basename(report.get("script") or "script"))[0]
    classname = f"nanfix.probes.{stem}"
    suite = ET.Element("testsuite", name=SUITE,
                       timestamp=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                       hostname=_text(os.uname().nodename if hasattr(os, "uname") else "localhost"))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("script", report.get("script")), ("verdict", report.get("verdict")),
                        ("summary", report.get("summary")),
                        ("likely_cause", (report.get("likely_cause") or {}).get("code")),
                        ("nanfix_version", report.get("nanfix_version"))):
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=_text(value))
    states = []
    if report.get("verdict") == "error" or report.get("error"):
        _error_case(suite, report, classname)
        states.append("error")
    for run in (report.get("baseline") or {}).get("runs") or []:
        states.append(_seed_case(suite, report, classname, run))
    for fix in report.get("fixes") or []:
        states.append(_fix_case(suite, fix))
    if not states:  # a sweep: no baseline to report seed by seed
        states.append(_verdict_case(suite, report, classname))
    counts = {"tests": str(len(states)), "failures": str(states.count("failure")),
              "errors": str(states.count("error")), "skipped": str(states.count("skipped")),
              "time": _seconds(report.get("elapsed_s"))}
    suite.attrib.update(counts)
    root = ET.Element("testsuites", name=SUITE, **{k: v for k, v in counts.items() if k != "skipped"})
    root.append(suite)
    return root


def render(report: dict[str, Any]) -> str:
    root = build(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: dict[str, Any], path: str) -> None:
    """Write the report as JUnit XML to `path`."""
    write_text(path, render(report))
