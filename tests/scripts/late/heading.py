# An exact linear fit with Adam(beta_2=0.95): the loss goes toward zero and sqrt(v_hat) decays
# at nearly beta_2's rate, so it reaches epsilon within this fit's 1600 steps (N708).
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]])).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(keras.optimizers.Adam(0.05, beta_2=0.95), "mse")
model.fit(x, y, batch_size=32, epochs=200, verbose=0)
