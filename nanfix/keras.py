"""Keras entry point for the in-training guard: `from nanfix.keras import NanGuard`.

>>> import keras, numpy as np
>>> from nanfix.keras import NanGuard
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
>>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e3), loss="mse")
>>> guard = NanGuard(printer=lambda text: None)  # the guard's report, here not printed
>>> _ = model.fit(np.full((64, 4), 100.0), np.ones(64), epochs=20, verbose=0, callbacks=[guard])
>>> guard.diagnosis.codes[:1]  # stopped at the first non-finite loss, and says so
['N701']
"""

from nanfix.guard.callback import Diagnosis, NanGuard, NonFiniteTrainingError

__all__ = ["Diagnosis", "NanGuard", "NonFiniteTrainingError"]
