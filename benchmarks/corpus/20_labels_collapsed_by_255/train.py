# "16x16 grey images and digit labels come in one table (256 pixel columns + label). I divide the
# table by 255, split it, cast the label to int. Accuracy 1.0000, loss ~0 - too good to be true?"
# BUG: the label column was divided by 255 too, so int(label / 255) = 0 for every sample: a
# one-class, degenerate task. Scale only the pixel columns.
import keras
import numpy as np

rng = np.random.default_rng(20)
n = 2000
yy, xx = np.mgrid[0:16, 0:16]
protos = []
for k in range(10):
    img = np.zeros((16, 16))
    for _ in range(2):
        cy, cx = rng.uniform(3, 13, 2)
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(1.5, 3) ** 2))
    protos.append(img / img.max())
protos = np.array(protos)
digit = rng.integers(0, 10, n)
pixels = np.clip(protos[digit] * 220 + rng.normal(0, 25, (n, 16, 16)), 0, 255).round()
table = np.concatenate([pixels.reshape(n, 256), digit[:, None]], axis=1).astype("float32")

table = table / 255.0                     # "normalise the data"
x = table[:, :256].reshape(n, 16, 16, 1)
y = table[:, 256].astype("int64")         # every label becomes 0

model = keras.Sequential([
    keras.Input(shape=(16, 16, 1)),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=4, verbose=2)
