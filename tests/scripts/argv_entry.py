"""Reaches fit only when run with --train, as `python argv_entry.py --train` would."""
import sys

import keras
from _blobs import blobs

if "--train" in sys.argv:
    x, labels = blobs()
    model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, labels, epochs=1)
