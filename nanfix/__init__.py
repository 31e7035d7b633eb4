"""nanfix: a training doctor for Keras.

`nanfix probe train.py` runs an unmodified Keras training script under instrumentation,
takes over at its first `fit`, diagnoses why training diverges or stalls, and measures which
fixes cure it. See README.md.
"""

__version__ = "0.1.0"
