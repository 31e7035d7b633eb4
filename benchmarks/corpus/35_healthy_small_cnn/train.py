# Healthy reference: tiny CNN on 16x16 grey images (0..255, scaled by /255), 10 classes of
# blob patterns with random shifts and noise. Conv(8) -> pool -> Conv(8) -> pool -> softmax.
import keras
import numpy as np

rng = np.random.default_rng(35)
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
y = rng.integers(0, 10, n)
shift = rng.integers(-1, 2, (n, 2))
images = np.array([np.roll(protos[c], tuple(s), axis=(0, 1)) for c, s in zip(y, shift)])
images = np.clip(images * 220 + rng.normal(0, 25, (n, 16, 16)), 0, 255).astype("uint8")
x = (images.astype("float32") / 255.0)[..., None]

model = keras.Sequential([
    keras.Input(shape=(16, 16, 1)),
    keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2, verbose=2)
