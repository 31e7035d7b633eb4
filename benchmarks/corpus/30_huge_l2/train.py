# "My model overfitted, so I added L2 regularisation. Now the loss starts at 300, falls to ~12
# and accuracy is stuck at the majority-class rate (~19%)."  10-class tabular classifier.
# BUG: kernel_regularizer=l2(10.0) is ~1e5x too strong; the penalty dominates the loss and
# pins every weight near 0. Use something like l2(1e-4).
import keras
import numpy as np

rng = np.random.default_rng(30)
x = rng.normal(size=(2000, 16)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(16, 16))) @ rng.normal(size=(16, 10)), axis=1)

reg = keras.regularizers.l2(10.0)
model = keras.Sequential([
    keras.Input(shape=(16,)),
    keras.layers.Dense(64, activation="relu", kernel_regularizer=reg),
    keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
