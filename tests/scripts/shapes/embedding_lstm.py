"""Token ids into an Embedding and an LSTM: the label is whether token 7 occurs."""
import keras
import numpy as np

rng = np.random.default_rng(0)
tokens = rng.integers(1, 50, (1200, 12))
labels = (tokens == 7).any(axis=1).astype("float32")
model = keras.Sequential([keras.Input(shape=(12,), dtype="int32"),
                          keras.layers.Embedding(50, 16), keras.layers.LSTM(16),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(tokens, labels, batch_size=32, epochs=5)
