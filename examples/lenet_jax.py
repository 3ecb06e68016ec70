"""LeNet-5 on Fashion-MNIST in plain JAX, every layer and the loss on pykernels.jax.

    (N,1,28,28) conv 5x5 6 (pad 2) -> ReLU -> max pool 2 -> conv 5x5 16 -> ReLU
                -> max pool 2 -> flatten -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc 10,
    mean cross-entropy, Adam (written out below).

The parameters are a pytree (a dict of arrays); one training step is a single
``jax.jit`` of ``jax.value_and_grad`` plus the Adam update. The layers are
libkernels' kernels entering XLA as FFI custom calls (pykernels.jax), their
gradients the library's backward kernels through ``jax.custom_vjp``. With
``--compare`` the identical model, from the same key and the same batch order,
also trains on JAX's own ops (lax.conv_general_dilated, lax.reduce_window,
jax.nn), and both accuracies and step times are printed.

    python examples/lenet_jax.py                 # 10 epochs, 2 CPU threads
    python examples/lenet_jax.py --compare       # also the pure-JAX twin
    python examples/lenet_jax.py --epochs 1 --limit 6000

The last line printed is ``test accuracy NN.NN%``.
"""
import argparse
import os
import sys
import time


import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import runtime  # noqa: E402

import pykernels  # noqa: E402
import pykernels.jax as kj  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- the two sets of layers

class PykernelsOps:
    """The layers on pykernels.jax (libkernels through XLA FFI)."""
    name = "pykernels"

    @staticmethod
    def conv2d(x, w, b, padding):
        return kj.conv2d(x, w, b, padding=padding)

    @staticmethod
    def max_pool2d(x, k):
        return kj.max_pool2d(x, (k, k))

    relu = staticmethod(kj.relu)
    linear = staticmethod(kj.linear)

    @staticmethod
    def cross_entropy(logits, labels):
        return kj.cross_entropy(logits, labels)


class JaxOps:
    """The same layers on JAX's own ops (XLA's kernels)."""
    name = "jax"

    @staticmethod
    def conv2d(x, w, b, padding):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), [(padding, padding)] * 2,
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    @staticmethod
    def max_pool2d(x, k):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")

    relu = staticmethod(jax.nn.relu)

    @staticmethod
    def linear(x, w, b):
        return x @ w.T + b

    @staticmethod
    def cross_entropy(logits, labels):
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


# ---------------------------------------------------------------- the model

SHAPES = {  # name: (weight shape, fan_in)
    "conv1": ((6, 1, 5, 5), 25), "conv2": ((16, 6, 5, 5), 150),
    "fc1": ((120, 400), 400), "fc2": ((84, 120), 120), "fc3": ((10, 84), 84),
}


def init_params(key):
    """torch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
    biases), as a dict pytree {layer: {"w", "b"}} of float32 arrays."""
    params = {}
    for name, (shape, fan_in) in SHAPES.items():
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        params[name] = {"w": jax.random.uniform(kw, shape, jnp.float32, -bound, bound),
                        "b": jax.random.uniform(kb, (shape[0],), jnp.float32, -bound, bound)}
    return params


def lenet5(ops, params, x):
    """x:(N,1,28,28) -> logits (N,10)."""
    x = ops.max_pool2d(ops.relu(ops.conv2d(x, params["conv1"]["w"], params["conv1"]["b"], 2)), 2)
    x = ops.max_pool2d(ops.relu(ops.conv2d(x, params["conv2"]["w"], params["conv2"]["b"], 0)), 2)
    x = x.reshape((x.shape[0], -1))
    x = ops.relu(ops.linear(x, params["fc1"]["w"], params["fc1"]["b"]))
    x = ops.relu(ops.linear(x, params["fc2"]["w"], params["fc2"]["b"]))
    return ops.linear(x, params["fc3"]["w"], params["fc3"]["b"])


# ---------------------------------------------------------------- Adam, written out

def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def adam_update(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba; torch.optim.Adam's defaults)."""
    t = state["t"] + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    c1 = 1 - b1 ** t.astype(jnp.float32)
    c2 = 1 - b2 ** t.astype(jnp.float32)
    params = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps),
                                    params, m, v)
    return params, {"m": m, "v": v, "t": t}


def make_step(ops, lr):
    def loss_fn(params, x, y):
        return ops.cross_entropy(lenet5(ops, params, x), y)

    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        params, opt_state = adam_update(params, grads, opt_state, lr)
        return params, opt_state, loss

    @jax.jit
    def evaluate(params, x, y):
        logits = lenet5(ops, params, x)
        return ops.cross_entropy(logits, y) * x.shape[0], jnp.sum(jnp.argmax(logits, -1) == y)

    return step, evaluate


# ---------------------------------------------------------------- training

def load_data(args):
    """Train/test arrays: images (n,1,28,28) float32 standardised with the training set's
    mean and std, labels int32 (n,)."""
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_standardised(args.data, args.limit)
    return (x_train, y_train.astype(np.int32)), (x_test, y_test.astype(np.int32))


def train(ops, data, args):
    """Train LeNet-5 on ``ops`` from args.seed; returns its history."""
    (x_train, y_train), (x_test, y_test) = data
    params = init_params(jax.random.key(args.seed))
    opt_state = adam_init(params)
    step, evaluate = make_step(ops, args.lr)
    order_rng = np.random.default_rng(args.seed)  # the same batch order for both twins
    history = {"epoch": [], "train_loss": [], "test_loss": [], "test_accuracy": [], "seconds": [],
               "step_ms": []}
    for epoch in range(1, args.epochs + 1):
        order = order_rng.permutation(len(x_train))
        bar = fashion_mnist.ProgressBar(len(x_train), f"[{ops.name}] epoch {epoch}/{args.epochs}")
        start, total_loss, seen, steps, step_time = time.perf_counter(), 0.0, 0, 0, 0.0
        for i in range(0, len(x_train), args.batch_size):
            idx = order[i:i + args.batch_size]
            t0 = time.perf_counter()
            params, opt_state, loss = step(params, opt_state, x_train[idx], y_train[idx])
            loss = float(loss)  # waits for the step
            if len(idx) == args.batch_size and (epoch > 1 or i > 0):  # no compile, no short batch
                step_time += time.perf_counter() - t0
                steps += 1
            total_loss += loss * len(idx)
            seen += len(idx)
            bar.update(len(idx), loss=total_loss / seen)
        seconds = time.perf_counter() - start
        test_loss, correct = 0.0, 0
        for i in range(0, len(x_test), 1000):
            l, c = evaluate(params, x_test[i:i + 1000], y_test[i:i + 1000])
            test_loss, correct = test_loss + float(l), correct + int(c)
        acc = 100.0 * correct / max(1, len(x_test))
        for key, value in zip(history, (epoch, total_loss / seen, test_loss / max(1, len(x_test)), acc, seconds,
                                        1000.0 * step_time / max(1, steps))):
            history[key].append(value)
        print(f"[{ops.name}] epoch {epoch}: train loss {total_loss / seen:.4f}  test loss "
              f"{history['test_loss'][-1]:.4f}  test accuracy {acc:.2f}%  ({seconds:.2f} s, "
              f"{history['step_ms'][-1]:.2f} ms/step)", flush=True)
    return history


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=fashion_mnist.DEFAULT_DIR, help="directory of the IDX files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2,
                   help="CPU threads of the pykernels kernels (XLA's own ops use its thread pool)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--plot", metavar="PNG", default=os.path.join(ROOT, "runs", "lenet_jax.png"),
                   help="where to draw the training curves ('' = no plot)")
    p.add_argument("--compare", action="store_true", help="also train the identical model on JAX's own ops")
    args = p.parse_args(argv)

    pykernels.set_num_threads(args.threads)
    data = load_data(args)
    print(f"Fashion-MNIST: {len(data[0][0])} train / {len(data[1][0])} test images from {args.data}")
    print(f"pykernels {pykernels.__version__}, jax {jax.__version__} on {jax.devices()[0].platform}")

    histories = {"pykernels": train(PykernelsOps, data, args)}
    if args.compare:
        histories["jax"] = train(JaxOps, data, args)
    if args.plot:
        runtime.plot_curves(args.plot, histories, "LeNet-5 in JAX")
    ours = histories["pykernels"]
    if args.compare:
        theirs = histories["jax"]
        ours_ms, theirs_ms = ours["step_ms"][-1], theirs["step_ms"][-1]
        print(f"pykernels.jax: test accuracy {ours['test_accuracy'][-1]:.2f}%, {ours_ms:.2f} ms/step")
        print(f"pure JAX:      test accuracy {theirs['test_accuracy'][-1]:.2f}%, {theirs_ms:.2f} ms/step")
        print(f"step time ratio pykernels/jax: {ours_ms / theirs_ms:.2f}")
    print(f"test accuracy {ours['test_accuracy'][-1]:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
