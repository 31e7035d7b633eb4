import keras

x = [[0.1 * i, 0.2 * i] for i in range(64)]
y = [[0.0] for _ in range(64)]
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, epochs=1)
