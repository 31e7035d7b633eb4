"""Softmax over one unit, written on one long line: the fix's changed text is past column 80."""
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(600, 4)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("float32").reshape(-1, 1)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, kernel_initializer="glorot_uniform", name="the_output_layer", activation="softmax")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5)
