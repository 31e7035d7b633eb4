"""Probe: train the captured setup for a bounded number of steps on several seeds, measuring.

`setup.TrainSetup` is a training configuration as data (what a fix changes),
`build.build_trainer` makes it a `trainer.Trainer` (one compiled, instrumented step),
`run.probe` trains it per seed, `judge` says how each seed ended and `localize` where the
first non-finite value appeared.
"""
