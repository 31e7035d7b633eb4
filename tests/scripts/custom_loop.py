import keras
import numpy as np
import tensorflow as tf

model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
optimizer = keras.optimizers.SGD(0.01)
x, y = np.ones((8, 4), "float32"), np.ones((8, 1), "float32")
for step in range(1000000):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
