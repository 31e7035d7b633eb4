# "Predicting which of 4 marketing campaigns a customer will respond to from 16 standardised
# profile features. Validation accuracy stays at 25% no matter what I change."
# FAULT: the labels were exported from a different, unrelated table (a join on the wrong key),
# so they are independent of the inputs: there is nothing to learn and no training fix cures it.
import keras
import numpy as np

rng = np.random.default_rng(21)
x = rng.normal(size=(2000, 16)).astype("float32")
y = rng.integers(0, 4, 2000)             # unrelated to x

model = keras.Sequential([
    keras.Input(shape=(16,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(4, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2, verbose=2)
