# "I wrote my own binary cross-entropy to understand it. The first epoch looks fine, then the
# loss is nan forever and accuracy drops to 0.52."  10 standardised features, sigmoid, Adam(0.01).
# BUG: the loss takes log(y_pred) and log(1 - y_pred) unguarded; once a sigmoid output rounds to
# exactly 1.0 in float32, 0 * log(0) = nan. Use keras.losses.BinaryCrossentropy.
import keras
import numpy as np

rng = np.random.default_rng(22)
x = rng.normal(size=(2000, 10)).astype("float32")
y = (x @ rng.normal(size=(10,)) + 0.5 * x[:, 0] ** 2 - 0.5 > 0).astype("float32").reshape(-1, 1)


def my_binary_crossentropy(y_true, y_pred):
    return -keras.ops.mean(y_true * keras.ops.log(y_pred) + (1 - y_true) * keras.ops.log(1 - y_pred))


model = keras.Sequential([
    keras.Input(shape=(10,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=my_binary_crossentropy,
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=6, verbose=2)
