"""Turn a `TrainSetup` into a `Trainer`: the model (rebuilt only when a fix edited it), a
fresh optimizer from its config, and the captured loss.

Most candidates reuse the captured model and only the optimizer is new; a model edit
(an activation, an initializer) rebuilds the model from its serialized config.
"""

from __future__ import annotations

import copy
from typing import Any

import keras

from nanfix.probes.setup import TrainSetup, model_config
from nanfix.probes.trainer import Trainer


def build_model(setup: TrainSetup) -> Any:
    if not setup.model_edits:
        return setup.model
    config = copy.deepcopy(model_config(setup.model))
    for edit in setup.model_edits:
        config = edit(config)
    # a functional model of the script's own class (one with its own train_step) rebuilds as
    # that class, unregistered as it is
    own_class = type(setup.model)
    return keras.saving.deserialize_keras_object(config, custom_objects={own_class.__name__: own_class})


def copy_model(setup: TrainSetup) -> Any:
    """A model of its own for `setup`, with fresh variables: rebuilt from the edited config,
    or a clone of the captured model (which `build_model` shares when nothing edits it)."""
    import keras

    return build_model(setup) if setup.model_edits else keras.models.clone_model(setup.model)


def build_trainer(setup: TrainSetup, eval_samples: int = 1024, model: Any = None) -> Trainer:
    """A trainer for `setup` (on `model` when given: a copy of its model, `copy_model`)."""
    model = build_model(setup) if model is None else model
    optimizer = keras.optimizers.deserialize(copy.deepcopy(setup.optimizer_config))
    return Trainer(model, optimizer, setup.loss, setup.task, setup.data,
                   loss_weights=setup.loss_weights, eval_samples=eval_samples, start=setup.start,
                   draws=setup.draws)
