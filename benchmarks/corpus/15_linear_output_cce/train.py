# "Customer segment classifier (4 segments) on 12 standardised features. The loss is 7-9 and
# jumps around, accuracy ~25% = chance. Labels are one-hot, loss is categorical_crossentropy."
# BUG: the last Dense has no activation, so it outputs raw scores, but categorical_crossentropy
# defaults to from_logits=False and treats them as probabilities. Add softmax or from_logits=True.
import keras
import numpy as np

rng = np.random.default_rng(15)
x = rng.normal(size=(2000, 12)).astype("float32")
labels = np.argmax(np.tanh(x @ rng.normal(size=(12, 16))) @ rng.normal(size=(16, 4)), axis=1)
y = keras.utils.to_categorical(labels, 4)

model = keras.Sequential([
    keras.Input(shape=(12,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(4),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
