# "Two concentric rings of 2-D points, inner ring = class 0, outer ring = class 1. My 3-layer
# network is stuck at 50% accuracy. More layers do not help."
# BUG: the hidden Dense layers have no activation, so the stack is one linear map and can only
# draw a straight line; rings need a nonlinearity. Add activation="relu".
import keras
import numpy as np

rng = np.random.default_rng(23)
n = 2000
outer = rng.random(n) < 0.5
r = np.where(outer, rng.uniform(1.5, 2.5, n), rng.uniform(0.0, 1.0, n))
theta = rng.uniform(0, 2 * np.pi, n)
x = (np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1) + 0.1 * rng.normal(size=(n, 2))).astype("float32")
y = outer.astype("float32")

model = keras.Sequential([
    keras.Input(shape=(2,)),
    keras.layers.Dense(32),
    keras.layers.Dense(32),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
