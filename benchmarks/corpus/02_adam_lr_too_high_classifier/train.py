# "I set Adam's learning rate to 10 so it would train faster. The loss is in the hundreds
# every epoch and accuracy sits near 25% on my 10-class problem."  20 standardised
# numeric features -> 10 classes, MLP with logits and from_logits=True (correct pairing).
# BUG: Adam(learning_rate=10.0) is four orders of magnitude too high; the logits explode.
import keras
import numpy as np

rng = np.random.default_rng(2)
x = rng.normal(size=(2000, 20)).astype("float32")
hidden = np.tanh(x @ rng.normal(size=(20, 20)))
y = np.argmax(hidden @ rng.normal(size=(20, 10)), axis=1)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="tanh"),
    keras.layers.Dense(64, activation="tanh"),
    keras.layers.Dense(10),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=10.0),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
