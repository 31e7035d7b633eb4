# "Small binary dataset (200 rows, 8 features) so I train one sample at a time, with SGD
# momentum 0.99 for speed. The loss swings and grows every epoch (0.7, 4, 40, ...)."
# BUG: batch_size=1 gives very noisy gradients and momentum 0.99 accumulates ~100 of them, so
# the updates oscillate with growing amplitude. Use batch_size=32 (or a much lower rate/momentum).
import keras
import numpy as np

rng = np.random.default_rng(29)
x = rng.normal(size=(200, 8)).astype("float32")
score = np.tanh(x @ rng.normal(size=(8,))) + 0.2 * x[:, 1] ** 2
y = (score > np.median(score)).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.99),
              loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=1, epochs=4, verbose=2)
