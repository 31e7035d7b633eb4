"""nanfix in CI: exit codes, JUnit XML, GitHub annotations, the schema, the plot and the HTML page.

End-to-end tests run the real CLI on the tiny scripts of conftest.py; the renderers are also
tested directly on the reports those runs produced, which costs no TensorFlow start.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nanfix.executor.local import _error_report
from nanfix.records import FixResult
from nanfix.report import github, html, junit, plot
from nanfix.report.serialize import fix_to_dict

# its fixtures probe once (session scope: a module fixture would be set up again whenever
# xdist runs another module's test in between) and one xdist worker runs the whole module
pytestmark = pytest.mark.xdist_group("test_ci_outputs")

BUDGET = ["--no-progress", "--seeds", "2", "--steps", "60"]
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse_annotation(line: str) -> dict[str, str]:
    """`::error file=a.py,line=3,title=T::message` → {kind, file, line, title, message}."""
    match = ANNOTATION.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = dict(item.split("=", 1) for item in (match["props"] or "").split(",") if item)
    return {"kind": match[1], **{key: unescape(value) for key, value in props.items()},
            "message": unescape(match["message"])}


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


@pytest.fixture(scope="session")
def lines(script_dir: Path) -> dict:
    """Lines of diverge.py that annotations may point at."""
    script = script_dir / "diverge.py"
    return {"dense": {line_of(script, "Dense(30"), line_of(script, "Dense(10")},
            "compile": line_of(script, "model.compile("), "fit": line_of(script, "model.fit(")}


def junit_cases(xml_text: str) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.fromstring(xml_text.encode())
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None and suite.get("name") == "nanfix"
    return suite, suite.findall("testcase")


def check_counts(suite: ET.Element, cases: list[ET.Element]) -> None:
    """The suite's counters agree with its testcases."""
    assert int(suite.get("tests")) == len(cases)
    for attribute, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        assert int(suite.get(attribute)) == sum(case.find(tag) is not None for case in cases), attribute
    assert float(suite.get("time")) >= 0


@pytest.fixture(scope="session")
def report_with_fixes(diverging_probe, healthy_probe, lines) -> dict:
    """The diverging report with three measured fixes (cures, improves, fails), shaped by the
    real serializer; the healthy seeds stand in for the runs of the fix that cures."""
    _, report = diverging_probe
    _, healthy = healthy_probe
    report = copy.deepcopy(report)
    diff = ("--- diverge.py\n+++ diverge.py\n"
            f"@@ -{lines['compile'] - 1},3 +{lines['compile'] - 1},3 @@\n ])\n"
            "-model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss=\"mse\")\n"
            "+model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=\"mse\")\n"
            " model.fit(x, y, batch_size=10, epochs=1)\n")
    fixes = []
    for rank, (outcome, ok, runs) in enumerate((("cures", 2, healthy["baseline"]["runs"]),
                                                ("improves", 1, healthy["baseline"]["runs"][:1]
                                                 + report["baseline"]["runs"][1:]),
                                                ("fails", 0, report["baseline"]["runs"])), start=1):
        fix = fix_to_dict(FixResult(id=f"fix-{outcome}", family="lr", title=f"Lower the learning rate <{rank}>",
                                    changes=["learning_rate 3.0 → 0.1"], outcome=outcome, seeds_ok=ok,
                                    seeds=2, rank=rank, note="a & b",
                                    diff=diff if outcome == "cures" else None))
        fix["runs"] = copy.deepcopy(runs)
        fixes.append(fix)
    report["fixes"] = fixes
    return report


@pytest.fixture(scope="session")
def error_report(workspace: Path) -> dict:
    """A run stopped at the time limit, with ANSI colour codes in the script's output."""
    job = {"script": str(workspace / "scripts" / "diverge.py"), "argv": [],
           "settings": {"time_limit": 5.0, "memory_limit_mb": 100}}
    report = _error_report(job, {"phase": "running the script", "killed": "timeout"}, "")
    report["script_output"] = "\x1b[31mEpoch 1/5 50% <done>\x1b[0m\n"
    return report


# --- the real CLI: exit codes and the files CI keeps -------------------------------------------


@pytest.fixture(scope="session")
def diverging_check(workspace: Path, nanfix_cli, make_cli_env) -> dict:
    """`nanfix check scripts/diverge.py --format github --junit --plot --html` from the repo root."""
    out = workspace / "out-diverging"
    out.mkdir()
    summary = out / "step-summary.md"
    summary.write_text("# earlier step\n")
    process = nanfix_cli(["check", "scripts/diverge.py", *BUDGET, "--format", "github",
                       "--junit", out / "junit.xml", "--plot", out / "curves.svg",
                       "--html", out / "report.html"],
                        cwd=workspace, env=make_cli_env(GITHUB_STEP_SUMMARY=str(summary)))
    return {"process": process, "out": out, "summary": summary}


@pytest.mark.slow
def test_check_fails_on_a_diverging_script(diverging_check):
    process = diverging_check["process"]
    assert process.returncode == 1, process.stderr


@pytest.mark.slow
def test_check_github_annotations_point_at_the_users_lines(diverging_check, lines):
    output = diverging_check["process"].stdout.strip().splitlines()
    annotations = [parse_annotation(line) for line in output]
    for annotation in annotations:
        assert annotation["file"] == "scripts/diverge.py"  # relative to the checkout (cwd)
    codes = [(re.match(r"nanfix ([A-Z]\d{3}):", a["title"]), a) for a in annotations]
    findings = {match[1]: a for match, a in codes if match}
    assert "N701" in findings, output
    assert findings["N701"]["kind"] == "error"
    # the layer that made the first non-finite value (or the compile call that configured it)
    assert int(findings["N701"]["line"]) in lines["dense"] | {lines["compile"]}
    for annotation in findings.values():
        assert int(annotation["line"]) in lines["dense"] | {lines["compile"], lines["fit"]}
    verdict = annotations[-1]
    assert verdict["kind"] == "error" and "DIVERGES" in verdict["title"]


@pytest.mark.slow
def test_check_appends_the_step_summary(diverging_check):
    text = diverging_check["summary"].read_text()
    assert text.startswith("# earlier step\n")  # appended, not overwritten
    assert "## nanfix" in text and "DIVERGES" in text and "N701" in text


@pytest.mark.slow
def test_check_writes_junit_plot_and_html(diverging_check):
    out = diverging_check["out"]
    suite, cases = junit_cases((out / "junit.xml").read_text())
    check_counts(suite, cases)
    assert len(cases) == 2 and int(suite.get("failures")) == 2
    assert all("N701" in case.find("failure").get("message") for case in cases)
    svg = (out / "curves.svg").read_text()
    assert ET.fromstring(svg).tag.endswith("svg")
    page = (out / "report.html").read_text()
    assert "DIVERGES" in page and "N701" in page


@pytest.mark.slow
def test_check_passes_a_healthy_script(script_dir, tmp_path, nanfix_cli, validate_report):
    process = nanfix_cli(["check", script_dir / "healthy.py", *BUDGET, "--format", "json",
                       "--junit", tmp_path / "junit.xml"])
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    validate_report(report)
    assert report["verdict"] == "healthy"
    suite, cases = junit_cases((tmp_path / "junit.xml").read_text())
    check_counts(suite, cases)
    assert len(cases) == 2 and suite.get("failures") == "0" and suite.get("errors") == "0"


@pytest.mark.slow
def test_fail_on_decides_whether_a_stall_fails(script_dir, make_cli_env, validate_report):
    commands = {fail_on: ["check", script_dir / "stall.py", *BUDGET, "--format", "json",
                          "--fail-on", fail_on] for fail_on in ("stalls", "diverges")}
    # both at once: two TensorFlow starts overlap
    processes = {fail_on: subprocess.Popen([sys.executable, "-m", "nanfix.cli", *map(str, args)],
                                           env=make_cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True, stdin=subprocess.DEVNULL)
                 for fail_on, args in commands.items()}
    results = {fail_on: (process.communicate(timeout=240), process.returncode)
               for fail_on, process in processes.items()}
    for fail_on, ((stdout, stderr), code) in results.items():
        report = json.loads(stdout)
        validate_report(report)
        assert report["verdict"] == "stalls", (fail_on, report["summary"])
        assert code == (1 if fail_on == "stalls" else 0), (fail_on, stderr)


# --- the schema --------------------------------------------------------------------------------


def test_probe_reports_match_the_schema(diverging_probe, healthy_probe, validate_report):
    for _, report in (diverging_probe, healthy_probe):
        validate_report(report)
    assert diverging_probe[0] == 1 and diverging_probe[1]["verdict"] == "diverges"
    assert healthy_probe[0] == 0 and healthy_probe[1]["verdict"] == "healthy"
    assert None in diverging_probe[1]["baseline"]["runs"][0]["loss_history"]  # NaN travels as null


def test_fix_and_error_reports_match_the_schema(report_with_fixes, error_report, validate_report):
    validate_report(report_with_fixes)
    validate_report(error_report)


def test_schema_rejects_what_it_should(diverging_probe, report_schema):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(report_schema)
    _, report = diverging_probe
    broken = [("verdict", "exploded"), ("schema", "nanfix.report/2")]
    for key, value in broken:
        assert not validator.is_valid({**report, key: value}), key
    bad_finding = copy.deepcopy(report)
    bad_finding["findings"][0]["code"] = "n701"
    assert not validator.is_valid(bad_finding)
    bad_run = copy.deepcopy(report)
    bad_run["baseline"]["runs"][0]["outcome"] = "exploded"
    assert not validator.is_valid(bad_run)
    missing = {key: value for key, value in report.items() if key != "findings"}
    assert not validator.is_valid(missing)
    assert not validator.is_valid({**report, "verdict": "error", "error": None})


def test_schema_ships_as_package_data():
    from importlib import resources

    assert (resources.files("nanfix.report") / "schema.json").is_file()


# --- JUnit -------------------------------------------------------------------------------------


def test_junit_one_failing_testcase_per_diverged_seed(diverging_probe, tmp_path):
    _, report = diverging_probe
    junit.write_junit(report, tmp_path / "junit.xml")
    suite, cases = junit_cases((tmp_path / "junit.xml").read_text())
    check_counts(suite, cases)
    assert [case.get("name") for case in cases] == [f"seed {run['seed']}" for run in report["baseline"]["runs"]]
    assert {case.get("classname") for case in cases} == {"nanfix.probes.diverge"}
    for case in cases:
        failure = case.find("failure")
        assert failure is not None
        assert re.fullmatch(r"[A-Z]\d{3}", failure.get("type"))
        assert "N701" in failure.get("message") and "non-finite" in failure.get("message")
        assert "nanfix explain N701" in failure.text


def test_junit_healthy_seeds_pass(healthy_probe):
    _, report = healthy_probe
    suite, cases = junit_cases(junit.render(report))
    check_counts(suite, cases)
    assert len(cases) == 2 and all(len(case) == 1 and case[0].tag == "system-out" for case in cases)


def test_junit_fixes_that_do_not_cure_are_skipped(report_with_fixes):
    suite, cases = junit_cases(junit.render(report_with_fixes))
    check_counts(suite, cases)
    fixes = [case for case in cases if case.get("classname") == "nanfix.fixes"]
    assert len(fixes) == 3
    cured, improved, failed = fixes
    assert cured.find("skipped") is None and "learning_rate=0.1" in cured.find("system-out").text
    assert improved.find("skipped").get("message").startswith("improves: 1/2")
    assert failed.find("skipped").get("message").startswith("fails: 0/2")
    assert suite.get("skipped") == "2" and suite.get("failures") == "2"
    assert "<1>" in cured.get("name")  # escaped on the way in, read back intact


def test_junit_error_report_is_one_error_and_valid_xml(error_report):
    text = junit.render(error_report)
    assert "\x1b" not in text  # control characters are not XML
    suite, cases = junit_cases(text)
    check_counts(suite, cases)
    assert len(cases) == 1 and suite.get("errors") == "1"
    error = cases[0].find("error")
    assert error.get("type") == "timeout" and "time limit" in error.get("message")
    assert "Epoch 1/5 50% <done>" in cases[0].find("system-out").text


# --- GitHub ------------------------------------------------------------------------------------


def test_annotation_escaping():
    line = github.command("warning", "50% done\r\nnext: a, b", file="dir,x/t:1.py", line=7,
                          title="N701: NaN, again")
    assert line == ("::warning file=dir%2Cx/t%3A1.py,line=7,title=N701%3A NaN%2C again::"
                    "50%25 done%0D%0Anext: a, b")
    assert "\n" not in github.annotations({"verdict": "healthy", "summary": "a\nb", "script": "t.py"})


def test_annotations_are_relative_to_the_working_directory(diverging_probe, workspace, monkeypatch):
    _, report = diverging_probe
    monkeypatch.chdir(workspace)
    output = [parse_annotation(line) for line in github.annotations(report).splitlines()]
    assert {line["file"] for line in output} == {"scripts/diverge.py"}
    monkeypatch.chdir(workspace / "scripts")
    assert parse_annotation(github.annotations(report).splitlines()[0])["file"] == "diverge.py"


def test_annotations_severity_and_lines(diverging_probe, workspace, monkeypatch):
    _, report = diverging_probe
    monkeypatch.chdir(workspace)
    output = [parse_annotation(line) for line in github.annotations(report).splitlines()]
    kinds = {"error": "error", "warning": "warning", "info": "notice"}
    for finding, annotation in zip(report["findings"], output[:-1], strict=True):
        assert annotation["kind"] == kinds[finding["severity"]]
        assert finding["code"] in annotation["title"]
        if finding.get("where"):
            assert annotation["line"] == finding["where"].rsplit(":", 1)[1]
    assert len(output) == len(report["findings"]) + 1  # one per finding, then the verdict


def test_annotation_for_an_optimizer_finding_uses_the_compile_line(diverging_probe, workspace, lines,
                                                                  monkeypatch):
    _, report = copy.deepcopy(diverging_probe)
    report["findings"] = [{"code": "O501", "title": "Learning rate too high", "severity": "warning",
                           "message": "lr 3.0", "evidence": {}, "fix_families": ["lr"], "where": None}]
    monkeypatch.chdir(workspace)
    first = parse_annotation(github.annotations(report).splitlines()[0])
    assert first["line"] == str(lines["compile"])


def test_annotations_for_a_cure_and_an_error(report_with_fixes, error_report, workspace, lines,
                                             monkeypatch):
    monkeypatch.chdir(workspace)
    output = [parse_annotation(line) for line in github.annotations(report_with_fixes).splitlines()]
    notice = next(line for line in output if line["kind"] == "notice")
    assert notice["line"] == str(lines["compile"])  # the line the diff changes
    assert "1 of 3 fixes" in output[-1]["message"]
    error_lines = [parse_annotation(line) for line in github.annotations(error_report).splitlines()]
    assert error_lines[0]["kind"] == "error" and "timeout" in error_lines[0]["title"]


def test_step_summary_only_when_github_asks(diverging_probe, tmp_path, monkeypatch):
    _, report = diverging_probe
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github.append_step_summary(report) is None
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    github.append_step_summary(report)
    github.append_step_summary(report)
    assert target.read_text().count("## nanfix") == 2


# --- the plot ----------------------------------------------------------------------------------


@pytest.fixture
def no_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails


def test_svg_without_matplotlib(diverging_probe, tmp_path, no_matplotlib):
    _, report = diverging_probe
    path = tmp_path / "curves.svg"
    plot.write_plot(report, str(path))
    root = ET.fromstring(path.read_text())
    namespace = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{namespace}svg"
    assert len(root.findall(f"{namespace}polyline")) >= 2  # one per seed
    assert root.find(f"{namespace}line[@class='first-nonfinite']") is not None
    assert "(log)" in path.read_text()


def test_png_without_matplotlib_is_a_clear_error(healthy_probe, tmp_path, no_matplotlib):
    _, report = healthy_probe
    with pytest.raises(plot.PlotError, match=r"nanfix\[plot\].*\.svg"):
        plot.write_plot(report, str(tmp_path / "curves.png"))
    assert not (tmp_path / "curves.png").exists()
    with pytest.raises(plot.PlotError, match=r"\.png or \.svg"):
        plot.check_plot_path("curves.jpg")


def test_plot_with_matplotlib(report_with_fixes, tmp_path):
    pytest.importorskip("matplotlib")
    plot.write_plot(report_with_fixes, str(tmp_path / "curves.png"))
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot.write_plot(report_with_fixes, str(tmp_path / "curves.svg"))
    assert ET.fromstring((tmp_path / "curves.svg").read_bytes()).tag.endswith("svg")


def test_plot_draws_the_baseline_and_the_top_fixes(report_with_fixes, healthy_probe):
    drawn = plot.curves(report_with_fixes)
    labels = {curve.label for curve in drawn if curve.show_label}
    assert {"baseline seed 0 (diverged)", "fix fix-cures (cures)", "fix fix-fails (fails)"} <= labels
    assert plot.use_log_scale(drawn)  # 1e4 → 1e17 before NaN, then 1e-2 for the cure
    assert plot.first_bad_step(report_with_fixes) == report_with_fixes["baseline"]["first_bad_step"]
    flat = copy.deepcopy(healthy_probe[1])
    for run in flat["baseline"]["runs"]:
        run["loss_history"] = [1.0, 0.9, 0.8]
    assert not plot.use_log_scale(plot.curves(flat))


def test_plot_of_an_error_report(error_report, tmp_path, no_matplotlib):
    plot.write_plot(error_report, str(tmp_path / "curves.svg"))
    assert "time limit" in (tmp_path / "curves.svg").read_text()


# --- the HTML page -----------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(report_with_fixes, tmp_path):
    report = copy.deepcopy(report_with_fixes)
    report["findings"][0]["message"] += " <script>alert('x')</script>"
    path = tmp_path / "report.html"
    html.write_html(report, str(path))
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r"<link|\ssrc=|\shref=|url\(", page)  # no external assets
    for needle in ("DIVERGES", report["summary"], "N701", "<svg",
                   "fix-cures", "learning_rate=0.1", "explode_factor", "Lower the learning rate &lt;1&gt;"):
        assert needle in page, needle
    assert re.search(r"<pre class=\"diff\">.*learning_rate=0\.1", page, re.S)


def test_html_of_an_error_report(error_report, tmp_path):
    path = tmp_path / "error.html"
    html.write_html(error_report, str(path))
    page = path.read_text()
    assert "ERROR" in page and "time limit" in page and "Epoch 1/5 50% &lt;done&gt;" in page


@pytest.mark.slow
def test_html_renders_in_a_headless_browser(diverging_probe, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    _, report = diverging_probe
    path = tmp_path / "report.html"
    html.write_html(report, str(path))
    process = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})
    assert process.returncode == 0, process.stderr[-2000:]
    dom = process.stdout
    assert 'class="verdict verdict-diverges">DIVERGES</span>' in dom
    assert "<svg" in dom and "N701" in dom
