# "8-class product categories: 8 sigmoid outputs with categorical_crossentropy. A reviewer says
# the pairing is wrong, but it trains - is it really a problem?"  Tabular, one-hot labels, Adam.
# FAULT (static only): sigmoid + categorical CE on a single-label problem should be softmax;
# Keras 3 computes the loss from the sigmoid's logits, so it trains exactly like softmax.
import keras
import numpy as np

rng = np.random.default_rng(16)
x = rng.normal(size=(2000, 20)).astype("float32")
labels = np.argmax(np.tanh(x @ rng.normal(size=(20, 20))) @ rng.normal(size=(20, 8)), axis=1)
y = keras.utils.to_categorical(labels, 8)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(8, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
