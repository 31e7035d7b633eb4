"""Integer labels 0..4 and one output unit under CategoricalCrossentropy(from_logits=True):
a softmax over one logit is 1, so the loss is 0 from the first step and nothing is learned."""
import keras
import numpy as np

rng = np.random.default_rng(0)
n = 1200
centers = rng.normal(0, 2, size=(5, 8))
labels = rng.integers(0, 5, n)
x = (centers[labels] + rng.normal(0, 1, size=(n, 8))).astype("float32")
y = labels.reshape(-1, 1).astype("float32")
x_train, y_train, x_val, y_val = x[:1000], y[:1000], x[1000:], y[1000:]

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=5, validation_data=(x_val, y_val))
