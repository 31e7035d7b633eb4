# "Binary spam classifier on 20 standardised message features. The loss goes down every epoch
# but accuracy is frozen at exactly 0.4965 from the first epoch."
# BUG: Dense(1, activation="softmax") - a softmax over one unit is always 1.0, so every
# prediction is "spam". Use Dense(1, activation="sigmoid") with binary_crossentropy.
import keras
import numpy as np

rng = np.random.default_rng(17)
x = rng.normal(size=(2000, 20)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(20,))) + 0.3 * x[:, 0] * x[:, 1] > 0).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
