# Sweep harness for the seed003 Adam-jump study. Same model as recipes/seed003_adam_epsilon/train.py,
# trained with a tf.function loop (keras.optimizers.Adam, unchanged) so per-step losses can be logged.
import argparse, json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import tensorflow as tf
from keras import layers
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_data import lines32

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=128)          # training images
p.add_argument("--nval", type=int, default=512)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--eps", type=float, default=1e-7)
p.add_argument("--b2", type=float, default=0.999)
p.add_argument("--loss", default="bce")
p.add_argument("--steps", type=int, default=1500)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--flip", type=int, default=0)        # number of flipped training labels
p.add_argument("--noise", type=float, default=0.0)
p.add_argument("--filters", type=int, default=4)
p.add_argument("--every", type=int, default=25)
p.add_argument("--data_seed", type=int, default=0)
p.add_argument("--out", default="")
p.add_argument("--clipbce", type=int, default=0)  # 1: drop softmax's cached logits -> Keras clip-based BCE (TF1 Keras behaviour)
a = p.parse_args()

keras.utils.set_random_seed(a.seed)
inp = keras.Input((32, 32, 1))
h = layers.Activation("relu")(inp)
h = layers.Conv2D(a.filters, (16, 16))(h)
h = layers.Conv2D(2 * a.filters, (16, 16))(h)
h = layers.MaxPooling2D()(h)
h = layers.Flatten()(h)
h = layers.Dense(2)(h)
out = layers.Activation("softmax")(h)
model = keras.Model(inp, out)

x, y = lines32(a.n + a.nval, seed=a.data_seed, noise=a.noise)
x = x[..., None].astype("float32")
Y = np.eye(2, dtype="float32")[y]          # solid -> [1,0], broken -> [0,1]
xt, yt, xv, yv = x[:a.n], Y[:a.n].copy(), x[a.n:], Y[a.n:]
if a.flip:
    rng = np.random.default_rng(1000 + a.seed)
    idx = rng.choice(a.n, a.flip, replace=False)
    yt[idx] = yt[idx][:, ::-1]
lossf = keras.losses.binary_crossentropy if a.loss == "bce" else keras.losses.log_cosh
opt = keras.optimizers.Adam(a.lr, beta_2=a.b2, epsilon=a.eps)
opt.build(model.trainable_variables)

@tf.function
def step(xb, yb):
    with tf.GradientTape() as t:
        pr = model(xb, training=True)
        if a.clipbce:
            pr = tf.identity(pr)
        l = tf.reduce_mean(lossf(yb, pr))
    g = t.gradient(l, model.trainable_variables)
    opt.apply_gradients(zip(g, model.trainable_variables))
    return l, tf.linalg.global_norm(g)

@tf.function
def evaluate(xe, ye):
    pr = model(xe, training=False)
    if a.clipbce:
        pr = tf.identity(pr)
    return (tf.reduce_mean(keras.losses.binary_crossentropy(ye, pr)),
            tf.reduce_mean(tf.cast(tf.argmax(pr, 1) == tf.argmax(ye, 1), tf.float32)))

xt_t, yt_t = tf.constant(xt), tf.constant(yt)
rng = np.random.default_rng(a.seed)
perm, pos = rng.permutation(a.n), 0
rec = {"args": vars(a), "batch_loss": [], "gnorm": [], "log": []}
t0 = time.time()
for s in range(1, a.steps + 1):
    if pos + a.batch > a.n:
        perm, pos = rng.permutation(a.n), 0
    ib = perm[pos:pos + a.batch]; pos += a.batch
    l, gn = step(tf.gather(xt_t, ib), tf.gather(yt_t, ib))
    rec["batch_loss"].append(float(l)); rec["gnorm"].append(float(gn))
    if s % a.every == 0 or s == a.steps:
        tl, ta = evaluate(xt_t, yt_t); vl, va = evaluate(xv, yv)
        t_ = float(opt.iterations.numpy())
        vh = np.concatenate([v.numpy().ravel() for v in opt._velocities]) / (1 - a.b2 ** t_)
        sq = np.sqrt(vh)
        rec["log"].append(dict(step=s, train_bce=float(tl), train_acc=float(ta), val_bce=float(vl),
                               val_acc=float(va), med_sqrt_v=float(np.median(sq)),
                               frac_below_10eps=float(np.mean(sq < 10 * a.eps))))
rec["secs"] = time.time() - t0
bl = np.array(rec["batch_loss"])
print(json.dumps(vars(a)), "secs %.1f" % rec["secs"])
for r in (rec["log"][:: max(1, len(rec["log"]) // 12)] if not os.environ.get("QUIET") else []):
    print("  s%5d trainBCE %.3g acc %.3f valBCE %.3g vacc %.3f sqrtv %.2g f<10e %.2f maxbatch(last%d) %.3g" % (
        r["step"], r["train_bce"], r["train_acc"], r["val_bce"], r["val_acc"], r["med_sqrt_v"],
        r["frac_below_10eps"], a.every, bl[r["step"] - a.every:r["step"]].max()))
tb = np.array([r["train_bce"] for r in rec["log"]]); runmin = np.minimum.accumulate(tb)
ratio = tb[1:] / runmin[:-1]; k = int(np.argmax(ratio))
cm = np.minimum.accumulate(bl); br = bl[1:] / np.maximum(cm[:-1], 1e-12); kb = int(np.argmax(br[50:])) + 50
print("SUMMARY trainBCE: final %.3g min %.3g maxrise x%.3g at step %d (%.3g -> %.3g) | batch: max rise x%.3g at step %d (%.3g) | final acc %.3f vacc %.3f nan %s" % (
    tb[-1], tb.min(), ratio[k], rec["log"][k + 1]["step"], runmin[k], tb[k + 1], br[kb], kb + 2, bl[kb + 1],
    rec["log"][-1]["train_acc"], rec["log"][-1]["val_acc"], bool(np.isnan(bl).any())))
if a.out:
    json.dump(rec, open(a.out, "w"))
