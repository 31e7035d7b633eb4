# "Multi-label tagging: 0-6 of 6 tags per item (multi-hot). Sigmoid outputs, but I kept
# categorical_crossentropy from my old classifier. Loss ~4.2, binary accuracy drops to 0.42."
# BUG: categorical CE treats the outputs as one distribution over exclusive classes; with
# multi-hot targets it just drives every tag score up. Use binary_crossentropy.
import keras
import numpy as np

rng = np.random.default_rng(27)
n = 2000
x = rng.normal(size=(n, 20)).astype("float32")
scores = np.tanh(x @ rng.normal(size=(20, 20))) @ rng.normal(size=(20, 6))
y = (scores > 0.8).astype("float32")                 # multi-hot

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(6, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["binary_accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
