"""nanfix: a training doctor for Keras.

`nanfix probe train.py` runs an unmodified Keras training script under instrumentation,
takes over at its first `fit`, diagnoses why training diverges or stalls, and measures which
fixes cure it. See README.md.
"""

__version__ = "0.1.0"

# The Python API (`nanfix.probe(model, x, y)`, `nanfix.check(...)`, `nanfix.Report`) lives in
# nanfix.api and loads on first use: `import nanfix` for the CLI stays free of TensorFlow.
API = ("probe", "check", "Report")


def __getattr__(name: str):
    if name in API:
        import importlib

        return getattr(importlib.import_module("nanfix.api"), name)
    raise AttributeError(f"module 'nanfix' has no attribute {name!r}")
