# Adam "loss falls for a long time, then suddenly jumps" (seed003) in ~1500 steps on a CPU.
# Same model, loss, Keras fit() and Python generator as recipes/seed003_adam_epsilon/train.py
# (4 and 8 filters, batch 32); changes vs that recipe, all needed to compress the page's
# ~1e6-step failure into ~1500 steps (see FINDINGS.md):
#   * 128 training images (64 solid + 64 broken) instead of 3840, so the net can drive the loss to ~1e-9;
#   * Adam(learning_rate=1e-2) instead of 1e-5;
#   * beta_2=0.95 instead of 0.999 (v forgets in ~20 steps instead of ~1000: the time compression);
#   * epsilon=1e-10 instead of Keras 3's 1e-7 (the page's TF1-era default was 1e-8).
# Variants: "jump" (the setting above), "eps1e-3", "eps1e-2", "logcosh" (keras.losses.log_cosh).
# Usage: .venv/bin/python recipes/_data/adam_study/experiment.py [--seeds 0 1 2] [--variants jump eps1e-3 ...]
import argparse, os, random, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy
from keras import layers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_data import lines32  # noqa: E402

VARIANTS = {  # name: (epsilon, loss)
    "jump": (1e-10, keras.losses.binary_crossentropy),
    "eps1e-3": (1e-3, keras.losses.binary_crossentropy),
    "eps1e-2": (1e-2, keras.losses.binary_crossentropy),
    "logcosh": (1e-10, keras.losses.log_cosh),
    "eps1e-7": (1e-7, keras.losses.binary_crossentropy),   # Keras 3 default, for reference
}


def build(n_filters=4):
    input_layer = keras.Input((32, 32, 1))
    active_1 = layers.Activation("relu")(input_layer)
    conv_1 = layers.Conv2D(n_filters, (16, 16))(active_1)
    conv_2 = layers.Conv2D(2 * n_filters, (16, 16))(conv_1)
    pool_1 = layers.MaxPooling2D()(conv_2)
    p = 1
    for d in pool_1.shape[1:]:
        p *= d
    shaped_1 = layers.Reshape((p,))(pool_1)
    dense_1 = layers.Dense(2)(shaped_1)
    out = layers.Activation("softmax")(dense_1)
    return keras.Model(input_layer, out)


def getDataGenerator(solid, broken, batch_size=128):  # the page's generator, unchanged
    zed = [(chunk, [1, 0]) for chunk in solid] + [(chunk, [0, 1]) for chunk in broken]
    random.shuffle(zed)
    xbatch, ybatch = [], []
    while True:
        for i in range(len(zed)):
            x, y = zed[i]
            xbatch.append(x)
            ybatch.append(y)
            if len(xbatch) == batch_size:
                yield numpy.array(xbatch, dtype="float32"), numpy.array(ybatch, dtype="float32")
                xbatch, ybatch = [], []


class StepLog(keras.callbacks.Callback):
    """Training loss per epoch (mean over the epoch's steps_per_epoch steps; 3 with the default data)."""
    def on_train_begin(self, logs=None):
        self.losses = []
    def on_epoch_end(self, epoch, logs=None):
        self.losses.append(float(logs["loss"]))


def sigmoid_bce_from_logits(y, z):  # what Keras 3's binary_crossentropy computes on a softmax output
    return numpy.mean(numpy.maximum(z, 0) - z * y + numpy.log1p(numpy.exp(-numpy.abs(z))))


def run(seed, variant, steps=1500, n_train=128, lr=1e-2, beta_2=0.95, batch_size=32):
    eps, loss_function = VARIANTS[variant]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build()
    images, labels = lines32(n_train + 512, seed=0)
    full = [img[..., None] for img, lab in zip(images[:n_train], labels[:n_train]) if lab == 0]
    broken = [img[..., None] for img, lab in zip(images[:n_train], labels[:n_train]) if lab == 1]
    xval, yval = images[n_train:, ..., None], numpy.eye(2, dtype="float32")[labels[n_train:]]
    random.shuffle(full)
    random.shuffle(broken)
    optimizer = keras.optimizers.Adam(lr, beta_2=beta_2, epsilon=eps)
    model.compile(optimizer=optimizer, loss=loss_function, metrics=["accuracy"])
    steps_per_epoch = len(full) // batch_size + len(broken) // batch_size
    log = StepLog()
    model.fit(getDataGenerator(full, broken, batch_size), steps_per_epoch=steps_per_epoch,
              epochs=steps // steps_per_epoch, verbose=0, callbacks=[log])
    xtr = numpy.array(full + broken, dtype="float32")
    ytr = numpy.array([[1, 0]] * len(full) + [[0, 1]] * len(broken), dtype="float32")
    logits = keras.Model(model.inputs, model.layers[-2].output)
    ztr = logits.predict(xtr, verbose=0).astype("float64")
    ptr = model.predict(xtr, verbose=0)
    bce = float(sigmoid_bce_from_logits(ytr, ztr))
    acc = float(numpy.mean(ptr.argmax(1) == ytr.argmax(1)))
    vacc = float(numpy.mean(model.predict(xval, verbose=0).argmax(1) == yval.argmax(1)))
    return numpy.array(log.losses), bce, acc, vacc, steps_per_epoch


def jumps(losses, factor=1000.0, floor=1e-3):
    """Steps where the epoch loss exceeds `factor` x its running minimum and `floor`."""
    sm = numpy.asarray(losses)
    out, runmin = [], numpy.inf
    for i, x in enumerate(sm):
        if x > factor * runmin and x > floor and (not out or i - out[-1][0] > 25):
            out.append((i, runmin, x))
        runmin = min(runmin, x)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--variants", nargs="+", default=["jump", "eps1e-3", "eps1e-2", "logcosh"])
    ap.add_argument("--steps", type=int, default=1500)
    a = ap.parse_args()
    for seed in a.seeds:
        for v in a.variants:
            losses, bce, acc, vacc, spe = run(seed, v, a.steps)
            j = jumps(losses)
            first = "step %d: %.2g -> %.2g" % ((j[0][0] + 1) * spe, j[0][1], j[0][2]) if j else "none"
            marks = " ".join("%d:%.2g" % (st, losses[st // spe - 1])
                             for st in (100, 300, 500, 700, 900, 1100, 1300, len(losses) * spe))
            print("seed %d %-8s min loss %.2g | first jump %s | n jumps %d | end train BCE %.3g acc %.3f val acc %.3f | nan %s"
                  % (seed, v, numpy.nanmin(losses), first, len(j), bce, acc, vacc, bool(numpy.isnan(losses).any())))
            print("    epoch-mean loss at step:", marks, flush=True)
