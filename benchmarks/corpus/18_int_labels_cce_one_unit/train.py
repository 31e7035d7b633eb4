# "Churn prediction (0 = stays, 1 = leaves). Labels are categories, so I used
# categorical_crossentropy. The loss prints 0.0000 from the first step - perfect?!"
# BUG: integer 0/1 labels + categorical_crossentropy on ONE sigmoid unit: CCE over one class is
# identically 0, no gradient. Use binary_crossentropy (or one-hot labels + 2-unit softmax).
import keras
import numpy as np

rng = np.random.default_rng(18)
x = rng.normal(size=(2000, 12)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(12,))) + 0.4 * np.sin(2 * x[:, 1]) > 0).astype("int64")

model = keras.Sequential([
    keras.Input(shape=(12,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
