# Healthy reference: 5-class classifier that outputs raw logits (no softmax) and says so:
# SparseCategoricalCrossentropy(from_logits=True), functional API, SGD with momentum.
import keras
import numpy as np

rng = np.random.default_rng(37)
x = rng.normal(size=(2000, 16)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(16, 16))) @ rng.normal(size=(16, 5)), axis=1)

inputs = keras.Input(shape=(16,))
h = keras.layers.Dense(64, activation="relu")(inputs)
h = keras.layers.Dense(32, activation="relu")(h)
logits = keras.layers.Dense(5)(h)
model = keras.Model(inputs, logits)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2, verbose=2)
model.evaluate(x, y, verbose=2)
