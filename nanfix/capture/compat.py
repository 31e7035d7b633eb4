"""Legacy Keras/TensorFlow spellings: the ones we quietly translate, and the ones we explain.

Scripts copied from Q&A pages are written for Keras 2 or TensorFlow 1. A few old spellings
have an exact modern meaning, so nanfix translates them while it runs the script (and
reports each as a finding, so the user still learns about it). Others have no safe automatic
translation; for those the error message names the modern replacement.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

# Legacy uses seen while the script ran: (what, where). Read by the capture.
USED: list[tuple[str, str | None]] = []


@dataclass(frozen=True)
class LegacyHint:
    pattern: str  # regular expression matched against "ExceptionType: message"
    replacement: str


# Errors that old scripts raise under Keras 3 / TF 2, and what to write instead.
HINTS = [
    LegacyHint(
        r"has no attribute '(\w*Optimizer)'",
        "TensorFlow 1 optimizers (tf.train.GradientDescentOptimizer, tf.train.AdamOptimizer, ...) "
        "are gone: use keras.optimizers.SGD(learning_rate=...), keras.optimizers.Adam(...).",
    ),
    LegacyHint(
        r"not recognized: \{'lr'",
        "`lr=` was renamed: write keras.optimizers.SGD(learning_rate=...).",
    ),
    LegacyHint(
        r"has no attribute 'fit_generator'",
        "`fit_generator` is gone: `model.fit` accepts generators and keras.utils.PyDataset.",
    ),
    LegacyHint(
        r"keras\.engine|No module named 'keras\.engine'",
        "`keras.engine` is private and gone in Keras 3: use keras.Input, keras.Model, keras.layers.",
    ),
    LegacyHint(
        r"has no attribute '(Session|placeholder|get_variable|global_variables_initializer)'",
        "TensorFlow 1 graph code (tf.Session, tf.placeholder) does not run in TF 2: build a keras.Model "
        "and call model.fit.",
    ),
    LegacyHint(
        r"has no attribute 'log'",
        "TF 1's tf.log is tf.math.log (or keras.ops.log).",
    ),
    LegacyHint(
        r"has no attribute '(input_shape|output_shape)'",
        "Keras 3 layers have no input_shape/output_shape attribute: use layer.input.shape / layer.output.shape.",
    ),
]


def hint_for(error_type: str, message: str) -> str | None:
    text = f"{error_type}: {message}"
    for hint in HINTS:
        if re.search(hint.pattern, text):
            return hint.replacement
    return None


def install(current_script: Callable[[], str]) -> None:
    """Translate the legacy spellings that have one exact modern meaning (`current_script`:
    the script being run, whose lines a translation is recorded at)."""
    import keras

    from nanfix.capture.origins import user_line

    base = keras.optimizers.Optimizer
    original_init = base.__init__

    def init_accepting_lr(self, *args, **kwargs):
        # Subclasses pass their own default learning_rate along with the user's `lr`.
        if "lr" in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
            USED.append(("lr", user_line(current_script())))
        original_init(self, *args, **kwargs)

    base.__init__ = init_accepting_lr

    # Keras 2 layers had input_shape/output_shape attributes; scripts print them.
    layer_class = keras.layers.Layer

    def _shape(attribute):
        def getter(self):
            # Keras itself probes hasattr(layer, "input_shape"): count only the script's own uses.
            caller = sys._getframe(1).f_code.co_filename
            if os.path.realpath(caller) == os.path.realpath(current_script()):
                USED.append((attribute, user_line(current_script())))
            tensor = self.input if attribute == "input_shape" else self.output
            return tuple(tensor.shape)

        return property(getter)

    for attribute in ("input_shape", "output_shape"):
        if not hasattr(layer_class, attribute):
            setattr(layer_class, attribute, _shape(attribute))

    model_class = keras.Model
    if not hasattr(model_class, "fit_generator"):

        def fit_generator(self, generator, *args, **kwargs):
            USED.append(("fit_generator", user_line(current_script())))
            return self.fit(generator, *args, **kwargs)

        model_class.fit_generator = fit_generator
