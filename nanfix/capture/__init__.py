"""Capture: run the user's script to its first `fit` and take what it was about to train.

`load.load` is the entry: `script.run_script` runs the script under the `hooks`, `compat`
translates Keras 2 spellings, `origins` remembers which line made each layer,
`training_data` takes a bounded sample of what fit was given (or `dataset_config` reads
`--data`), and `task` reads what the model is trained to do.
"""
