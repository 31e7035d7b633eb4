"""Every rule fires on its own fixture, `tests/fixtures/findings/CODE.py` (as ruff maps each
rule to a fixture file): a rule without one, or one its fixture does not fire, fails here.

Pre-flight rules are read from the captured script alone; probe rules from its baseline probe
on two seeds (no fixes are swept).
"""

from __future__ import annotations

import pytest
from fixture_runs import RULE_FIXTURES, examine, fixture_settings, load_script, rule_fixture

from nanfix import findings, session
from nanfix.findings.catalog import Context
from nanfix.records import Stage


def test_every_rule_has_a_fixture_and_every_fixture_a_rule():
    fixtures = {path.stem for path in RULE_FIXTURES.glob("*.py")}
    assert set(findings.RULES) - fixtures == set(), "rules without a fixture"
    assert fixtures - set(findings.RULES) == set(), "fixtures of no rule"


def found_by(code: str) -> list:
    path = rule_fixture(code)
    if findings.RULES[code].stage is Stage.PROBE:
        report, _, _ = examine(path, sweeps=False)
        return report.findings
    settings = fixture_settings(path)
    loaded = load_script(path, settings)
    setup = session.training_setup(loaded)
    context = Context(model=loaded.model, optimizer=loaded.model.optimizer, loss=setup.loss,
                      task=setup.task, data=loaded.data, settings=settings, capture=loaded.capture,
                      fit_steps=loaded.fit_steps)
    return session.preflight(context)


@pytest.mark.slow
@pytest.mark.parametrize("code", sorted(findings.RULES))
def test_the_fixture_fires_its_rule(code):
    found = found_by(code)
    assert code in {item.code for item in found}, [(item.code, item.message) for item in found]
    mine = next(item for item in found if item.code == code)
    # a finding carries the limits it was judged by, so a fix answering it reads them there
    assert mine.evidence.get("limits", {}) == dict(findings.RULES[code].limits)
