# "20-layer ReLU MLP for a binary task; a tutorial said to initialise with small random numbers,
# so RandomNormal(stddev=0.01). The loss is 0.6931 every epoch."
# BUG: with stddev 0.01 each layer shrinks the signal ~25x; after 20 layers every unit outputs ~0
# and no gradient reaches the weights. Use he_normal (or BatchNormalization).
import keras
import numpy as np

rng = np.random.default_rng(25)
x = rng.normal(size=(1000, 16)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(16,))) + 0.5 * x[:, 0] * x[:, 1] > 0).astype("float32")

init = keras.initializers.RandomNormal(stddev=0.01)
model = keras.Sequential([keras.Input(shape=(16,))])
for _ in range(20):
    model.add(keras.layers.Dense(16, activation="relu", kernel_initializer=init))
model.add(keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=4, verbose=2)
