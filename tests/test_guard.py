"""Tests for nanfix.guard: NanGuard on real small Keras models, each a few seconds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from nanfix.keras import NanGuard, NonFiniteTrainingError


class LossRecorder(keras.callbacks.Callback):
    """Records the logged loss of every batch, in global step order."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))

    def first_nonfinite_step(self) -> int | None:
        return next((step for step, loss in enumerate(self.losses) if not math.isfinite(loss)),
                    None)


class PoisonWeight(keras.callbacks.Callback):
    """Sets one entry of a weight to NaN at a chosen global step, or at an epoch's start."""

    def __init__(self, variable, step=None, epoch=None):
        super().__init__()
        self.variable, self.step, self.epoch = variable, step, epoch
        self.seen = 0

    def _poison(self):
        value = keras.ops.convert_to_numpy(self.variable).copy()
        value.flat[0] = np.nan
        self.variable.assign(value)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self._poison()

    def on_train_batch_end(self, batch, logs=None):
        if self.seen == self.step:
            self._poison()
        self.seen += 1


def exploding_run(callbacks, seed=0):
    """Dense regression on inputs x10 with SGD lr=0.1: the loss overflows after a few steps."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 8)).astype("float32") * 10
    y = (x @ rng.normal(size=(8, 1))).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="output")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=128, epochs=5, verbose=0, callbacks=callbacks)
    return model


def separable_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    return x, y


def healthy_model(with_batchnorm=False):
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="hidden")]
    if with_batchnorm:
        layers.append(keras.layers.BatchNormalization(name="bn"))
    layers.append(keras.layers.Dense(1, activation="sigmoid", name="output"))
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    return model


def quiet_guard(**arguments) -> NanGuard:
    printed: list[str] = []
    guard = NanGuard(printer=printed.append, script="train.py", **arguments)
    guard.printed = printed
    return guard


def test_stops_at_the_first_nonfinite_loss_with_n701_and_a_layer():
    reference = LossRecorder()
    exploding_run([reference])
    expected_step = reference.first_nonfinite_step()
    assert expected_step is not None and expected_step > 0

    terminate_recorder = LossRecorder()
    exploding_run([keras.callbacks.TerminateOnNaN(), terminate_recorder])

    guard, recorder = quiet_guard(), LossRecorder()
    exploding_run([guard, recorder])

    diagnosis = guard.diagnosis
    assert diagnosis.step == expected_step
    assert len(recorder.losses) == expected_step + 1 == len(terminate_recorder.losses)
    assert diagnosis.kind == "loss"
    assert diagnosis.epoch == expected_step // 2  # two batches per epoch
    assert "N701" in diagnosis.codes
    assert diagnosis.layer == "hidden"
    assert "nanfix probe train.py" in guard.printed[-1]
    assert f"step {expected_step + 1}" in diagnosis.message  # counted from 1, as Keras counts


def test_healthy_run_is_untouched():
    x, y = separable_data()

    keras.utils.set_random_seed(1)
    plain = healthy_model()
    plain_history = plain.fit(x, y, batch_size=16, epochs=3, verbose=0)

    keras.utils.set_random_seed(1)
    guarded = healthy_model()
    guard, recorder = quiet_guard(check_every=2), LossRecorder()
    guarded_history = guarded.fit(x, y, batch_size=16, epochs=3, verbose=0,
                                  callbacks=[guard, recorder])

    assert guard.diagnosis is None
    assert guard.printed == []
    assert len(recorder.losses) == 3 * 8
    assert guarded_history.history["loss"] == plain_history.history["loss"]
    for plain_weight, guarded_weight in zip(plain.get_weights(), guarded.get_weights(), strict=True):
        np.testing.assert_array_equal(plain_weight, guarded_weight)


def test_raise_action_raises_with_the_diagnosis_attached():
    guard = quiet_guard(action="raise")
    with pytest.raises(NonFiniteTrainingError) as raised:
        exploding_run([guard])
    assert raised.value.diagnosis is guard.diagnosis
    assert "N701" in raised.value.diagnosis.codes


def test_loss_explosion_warns_and_can_stop():
    warned = quiet_guard()
    exploding_run([warned])
    assert any(line.startswith("nanfix: warning N703") for line in warned.printed)
    assert warned.diagnosis.codes == ["N701", "N703"]

    stopping = quiet_guard(stop_on_explosion=True)
    exploding_run([stopping])
    assert stopping.diagnosis.codes == ["N703"]
    assert stopping.diagnosis.step < warned.diagnosis.step
    assert math.isfinite(stopping.diagnosis.loss)


def test_nonfinite_weight_with_finite_loss_is_n702_in_that_layer():
    # The moving variance is not used by the training-mode forward pass, so the loss stays
    # finite; only the weight check sees it.
    x, y = separable_data()
    keras.utils.set_random_seed(2)
    model = healthy_model(with_batchnorm=True)
    moving_variance = model.get_layer("bn").moving_variance
    guard, recorder = quiet_guard(check_every=4), LossRecorder()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0,
              callbacks=[PoisonWeight(moving_variance, step=5), guard, recorder])

    diagnosis = guard.diagnosis
    assert diagnosis.kind == "weight"
    assert diagnosis.codes == ["N702"]
    assert diagnosis.layer == "bn"
    assert diagnosis.variable.endswith("moving_variance")
    assert diagnosis.step == 7  # the first check after the poison: steps 3, 7, ...
    assert all(math.isfinite(loss) for loss in recorder.losses)
    assert len(recorder.losses) == 8  # stopped: the epoch ended and no other epoch ran


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


class DirectorySnapshots(keras.callbacks.Callback):
    """What a directory held at each epoch end (listed after the callbacks that write it)."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory, self.by_epoch = directory, {}

    def on_epoch_end(self, epoch, logs=None):
        self.by_epoch[epoch] = snapshot(self.directory)


def diverging_fit_with_backups(tmp_path: Path, guard: NanGuard, epochs=4):
    """A healthy fit whose first kernel turns NaN at the start of epoch 2."""
    x, y = separable_data()
    keras.utils.set_random_seed(3)
    model = healthy_model()
    backup_dir, checkpoint = tmp_path / "backup", tmp_path / "last.weights.h5"
    snapshots = DirectorySnapshots(backup_dir)
    callbacks = [
        guard,
        keras.callbacks.BackupAndRestore(str(backup_dir)),
        keras.callbacks.ModelCheckpoint(str(checkpoint), save_weights_only=True),
        snapshots,
        PoisonWeight(model.layers[-1].kernel, epoch=2),
    ]
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks)
    return model, backup_dir, checkpoint, snapshots


def weights_are_finite(path: Path) -> bool:
    model = healthy_model()
    model.load_weights(str(path))
    return all(np.isfinite(weight).all() for weight in model.get_weights())


def test_raise_keeps_the_last_good_backup_and_checkpoint(tmp_path):
    guard = quiet_guard(action="raise")
    with pytest.raises(NonFiniteTrainingError):
        diverging_fit_with_backups(tmp_path, guard)
    backup_dir, checkpoint = tmp_path / "backup", tmp_path / "last.weights.h5"

    assert guard.diagnosis.epoch == 2 and guard.diagnosis.codes == ["N701"]
    assert guard.diagnosis.layer == "hidden"
    contents = snapshot(backup_dir)
    assert json.loads(contents["training_metadata.json"]) == {"epoch": 2, "batch": 0}
    assert weights_are_finite(backup_dir / "latest.weights.h5")
    assert weights_are_finite(checkpoint)

    # The backup is BackupAndRestore's to use: a new fit resumes after the last good epoch.
    x, y = separable_data()
    model = healthy_model()
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(str(backup_dir))])
    assert len(history.history["loss"]) == 2


def test_raise_leaves_backup_bytes_as_the_last_good_epoch_wrote_them(tmp_path):
    guard = quiet_guard(action="raise")
    backup_dir = tmp_path / "backup"
    recorded = {}

    class Remember(DirectorySnapshots):
        def on_epoch_end(self, epoch, logs=None):
            recorded[epoch] = snapshot(self.directory)

    x, y = separable_data()
    keras.utils.set_random_seed(3)
    model = healthy_model()
    callbacks = [guard, keras.callbacks.BackupAndRestore(str(backup_dir)),
                 Remember(backup_dir), PoisonWeight(model.layers[-1].kernel, epoch=2)]
    with pytest.raises(NonFiniteTrainingError):
        model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=callbacks)
    assert sorted(recorded) == [0, 1]
    assert snapshot(backup_dir) == recorded[1]


def test_graceful_stop_lets_keras_overwrite_and_delete_backups(tmp_path):
    # Pins the Keras 3 behaviour that NanGuard's docstring warns about: after a stop,
    # Keras still runs on_epoch_end (ModelCheckpoint saves the NaN weights) and
    # on_train_end (BackupAndRestore deletes its directory). action="raise" avoids both.
    guard = quiet_guard()
    model, backup_dir, checkpoint, snapshots = diverging_fit_with_backups(tmp_path, guard)
    assert guard.diagnosis.codes == ["N701"] and guard.diagnosis.epoch == 2
    assert "action=\"raise\"" in guard.printed[-1]
    assert not backup_dir.exists()
    assert not weights_are_finite(checkpoint)
    assert sorted(snapshots.by_epoch) == [0, 1, 2]


def test_rejects_unknown_action():
    with pytest.raises(ValueError):
        NanGuard(action="restore")
