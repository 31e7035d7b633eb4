# "To save memory I build every layer with dtype='float16'. Loss is nan from the first epoch."
# BUG: weights, gradients and Adam's slots are all float16 with no loss scaling: squared
# gradients underflow in Adam's second moment, eps=1e-7 barely exists, updates overflow. Use
# float32 / the mixed_float16 policy (Keras adds loss scaling) or Adam epsilon ~1e-4.
import keras
import numpy as np

rng = np.random.default_rng(31)
x = rng.normal(size=(2000, 20)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(20, 20))) @ rng.normal(size=(20, 10)), axis=1)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="relu", dtype="float16"),
    keras.layers.Dense(64, activation="relu", dtype="float16"),
    keras.layers.Dense(10, activation="softmax", dtype="float16"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
