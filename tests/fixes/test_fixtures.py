"""Every fix family on its own fixture, `tests/fixtures/fixes/FAMILY.py`: the family is
proposed there and one of its fixes is measured to cure it; and every fix it proposes there
trains, in the probe, exactly what its diff makes the patched script train.

The second test is what keeps a fix one description: the probe's setup is made from the
fix's edits (`SourceEdit.apply_to`), the diff from the same edits (`replace`), and here the
patched script is run to its fit and what it would train (the model, the optimizer, the
loss, the data, the task) is compared with what was measured.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import keras
import numpy as np
import pytest
from fixture_runs import FAMILY_FIXTURES, examine, family_fixture, load_script

from nanfix import fixes, session
from nanfix.capture.training_data import leaves
from nanfix.fixes.source.apply import apply_diff
from nanfix.fixes.source.diff import render
from nanfix.probes.build import build_model
from nanfix.records import FixOutcome

FAMILIES = sorted(fixes.FAMILIES)


def test_every_family_has_a_fixture_and_every_fixture_a_family():
    found = {path.stem for path in FAMILY_FIXTURES.glob("*.py")}
    assert set(FAMILIES) - found == set(), "families without a fixture"
    assert found - set(FAMILIES) == set(), "fixtures of no family"


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_the_fixture_is_cured_by_its_family(name):
    report, _, _ = examine(family_fixture(name), families=[name])
    assert report.verdict.value in ("diverges", "stalls"), report.verdict
    cures = [fix for fix in report.fixes if fix.outcome is FixOutcome.CURES and name in fix.families]
    assert cures, [(fix.id, fix.outcome.value, fix.note) for fix in report.fixes]
    assert cures[0].diff, "the cure has a diff to keep"


def canonical(value: Any) -> Any:
    """A config with what differs between two builds of the same thing dropped: names (a new
    layer's is numbered), seeds; floats to 6 digits."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items() if key not in ("name", "seed")}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else repr(value)
    return value


def loss_of(loss: Any) -> Any:
    if isinstance(loss, str):
        return loss
    try:
        return canonical(keras.losses.serialize(loss))
    except Exception:  # noqa: BLE001 - a hand-written loss: itself
        return getattr(loss, "__name__", type(loss).__name__)


def layer_state(layer) -> dict[str, Any]:
    """A layer's config, with what an adapted Normalization holds in its state rather than its
    config (`adapt` in the script, explicit values in the probe) read from the layer itself."""
    config = layer.get_config()
    if type(layer).__name__ == "Normalization":
        config.update(mean=np.asarray(layer.mean).reshape(-1).tolist(),
                      variance=np.asarray(layer.variance).reshape(-1).tolist())
    return canonical(config)


def trained(setup) -> dict[str, Any]:
    """What a setup trains, in terms two builds of it agree on."""
    model = build_model(setup)
    return {
        "layers": [(type(layer).__name__, layer_state(layer)) for layer in model.layers],
        "optimizer": canonical(setup.optimizer_config),
        "loss": loss_of(setup.loss),
        "batch_size": setup.data.batch_size,
        "task": {**setup.task.describe(), "chance_loss": setup.task.chance_loss},
    }


def same_arrays(measured, written, what: str) -> None:
    if measured is None or written is None:
        assert measured is None and written is None, what
        return
    for mine, theirs in zip(leaves(measured), leaves(written), strict=True):
        mine, theirs = np.asarray(mine), np.asarray(theirs)
        assert mine.shape == theirs.shape, what
        np.testing.assert_allclose(mine.astype("float64"), theirs.astype("float64"), rtol=1e-5,
                                   atol=1e-6, equal_nan=True, err_msg=what)


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_what_each_fix_measures_is_what_its_diff_writes(name, tmp_path):
    path = family_fixture(name)
    report, loaded, settings = examine(path, sweeps=False)
    setup = session.training_setup(loaded)
    proposed = fixes.FAMILIES[name].fixes(setup, report.findings)
    assert proposed, f"the {name} family proposes nothing for its own fixture"
    source = path.read_text(encoding="utf-8")
    for fix in proposed:
        diff, _ = render(list(fix.edits), fix.id, setup, loaded.capture)
        assert diff, f"{fix.id} has no diff on its family's fixture"
        patched = tmp_path / f"{fix.id}.py"
        patched.write_text(apply_diff(source, diff), encoding="utf-8")
        written = session.training_setup(load_script(patched, replace(settings)))
        measured = fix.apply(setup)
        assert trained(measured) == trained(written), fix.id
        for key in ("x", "y", "x_val", "y_val", "sample_weight"):
            same_arrays(getattr(measured.data, key), getattr(written.data, key), f"{fix.id}: {key}")
