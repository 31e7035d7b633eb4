"""Keras entry point for the in-training guard: `from nanfix.keras import NanGuard`.

Example::

    from nanfix.keras import NanGuard

    model.fit(x, y, epochs=10, callbacks=[NanGuard()])
"""

from nanfix.guard.callback import Diagnosis, NanGuard, NonFiniteTrainingError

__all__ = ["Diagnosis", "NanGuard", "NonFiniteTrainingError"]
