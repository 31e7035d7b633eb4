# Healthy reference: binary fraud classifier on 12 standardised transaction features,
# Dense(1, sigmoid) + binary_crossentropy, Adam. Accuracy rises well above the base rate.
import keras
import numpy as np

rng = np.random.default_rng(36)
x = rng.normal(size=(2000, 12)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(12,))) + 0.4 * np.sin(2 * x[:, 1]) > 0).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(12,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2, verbose=2)
