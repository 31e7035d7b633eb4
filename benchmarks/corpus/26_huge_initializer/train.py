# "4-class classifier, tanh MLP. I wanted 'strong' initial weights and used
# RandomNormal(stddev=20) everywhere. The loss starts around 170 and barely moves; accuracy ~26%."
# BUG: the huge initializer saturates every tanh unit (pre-activations in the hundreds, gradient
# ~0) and makes the logits enormous. Use the default glorot_uniform.
import keras
import numpy as np

rng = np.random.default_rng(26)
x = rng.normal(size=(2000, 16)).astype("float32")
y = np.argmax(np.tanh(x @ rng.normal(size=(16, 16))) @ rng.normal(size=(16, 4)), axis=1)

init = keras.initializers.RandomNormal(stddev=20.0)
model = keras.Sequential([
    keras.Input(shape=(16,)),
    keras.layers.Dense(64, activation="tanh", kernel_initializer=init),
    keras.layers.Dense(64, activation="tanh", kernel_initializer=init),
    keras.layers.Dense(4, activation="softmax", kernel_initializer=init),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
