# "10-class problem, softmax output, one-hot labels, binary_crossentropy because a blog said it
# 'works for everything'. The loss goes down nicely but accuracy stays near 10-15%." (SGD, MLP)
# BUG: softmax + BCE on a single-label 10-class problem mostly rewards pushing every output to 0;
# use categorical_crossentropy (reaches ~0.43 with the same SGD settings).
import keras
import numpy as np

rng = np.random.default_rng(14)
x = rng.normal(size=(2000, 20)).astype("float32")
labels = np.argmax(np.tanh(x @ rng.normal(size=(20, 20))) @ rng.normal(size=(20, 10)), axis=1)
y = keras.utils.to_categorical(labels, 10)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
              loss="binary_crossentropy", metrics=["categorical_accuracy"])
model.fit(x, y, batch_size=32, epochs=6, verbose=2)
