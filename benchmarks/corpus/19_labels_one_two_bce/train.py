# "Binary defect detector; the plant database codes 1 = ok, 2 = defect. Sigmoid output +
# binary_crossentropy. The loss goes NEGATIVE and keeps falling; accuracy is stuck at 0.50."
# BUG: BCE needs labels in {0, 1}; labels {1, 2} lie outside the sigmoid's range, the loss is
# unbounded below and every output is pushed to 1. Use y - 1.
import keras
import numpy as np

rng = np.random.default_rng(19)
x = rng.normal(size=(2000, 12)).astype("float32")
defect = np.tanh(x @ rng.normal(size=(12,))) + 0.4 * np.sin(2 * x[:, 1]) > 0
y = np.where(defect, 2, 1).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(12,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
