# "My 5-class classifier does not learn: the loss goes 1.762, 1.762, 1.761 ... for every epoch
# and accuracy never moves. The data is standardised and the model is tiny."
# 16 numeric sensor features -> 5 fault classes, small MLP, Adam.
# BUG: Adam(learning_rate=1e-6) is ~1000x too small; nothing moves in 300 steps.
import keras
import numpy as np

rng = np.random.default_rng(4)
x = rng.normal(size=(2000, 16)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(16, 16))) @ rng.normal(size=(16, 5)), axis=1)

model = keras.Sequential([
    keras.Input(shape=(16,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(5, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-6),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
