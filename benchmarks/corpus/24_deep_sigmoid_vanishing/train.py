# "Deeper is better, so my tabular classifier has 20 hidden layers of 16 sigmoid units. The
# loss sits at 0.693 and accuracy at 50%."  16 standardised features, binary label, Adam.
# BUG: each sigmoid layer scales the gradient by <= 0.25, so the first layers get ~nothing
# (vanishing gradients). Use relu (+ He init) or BatchNormalization between layers.
import keras
import numpy as np

rng = np.random.default_rng(24)
x = rng.normal(size=(1000, 16)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(16,))) + 0.5 * x[:, 0] * x[:, 1] > 0).astype("float32")

model = keras.Sequential([keras.Input(shape=(16,))])
for _ in range(20):
    model.add(keras.layers.Dense(16, activation="sigmoid"))
model.add(keras.layers.Dense(1, activation="sigmoid"))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=4, verbose=2)
