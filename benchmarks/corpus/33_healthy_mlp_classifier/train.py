# Healthy reference: 10-class classifier on 20 standardised features, ReLU MLP, softmax +
# sparse_categorical_crossentropy, Adam defaults. Nothing is wrong; the loss falls steadily.
import keras
import numpy as np

rng = np.random.default_rng(33)
x = rng.normal(size=(2000, 20)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(20, 20))) @ rng.normal(size=(20, 10)), axis=1)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=6, validation_split=0.2, verbose=2)
