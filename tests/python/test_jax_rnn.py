"""pykernels.jax.rnn_layer / rnn against a lax.scan reference with torch's formulas:
every mode, projection, reverse, with and without biases and initial state, grads of
every input, jit, vmap, a bidirectional two-layer stack, errors."""
import numpy as np
import pytest

from _jax import assert_close, check_op, jax, jnp, kj, randn

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def reference_layer(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, *, mode, reverse=False):
    T, N, _ = x.shape
    H = w_hh.shape[0] // GATES[mode]
    hout = H if w_hr is None else w_hr.shape[0]
    b_ih = jnp.zeros(w_ih.shape[0], x.dtype) if b_ih is None else b_ih
    b_hh = jnp.zeros(w_hh.shape[0], x.dtype) if b_hh is None else b_hh
    h = jnp.zeros((N, hout), x.dtype) if h0 is None else h0
    c = jnp.zeros((N, H), x.dtype) if c0 is None else c0

    def step(carry, xt):
        h, c = carry
        gi, gh = xt @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        if mode == "LSTM":
            i, f, g, o = jnp.split(gi + gh, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            if w_hr is not None:
                h = h @ w_hr.T
        elif mode == "GRU":
            ir, iz, in_ = jnp.split(gi, 3, axis=-1)
            hr, hz, hn = jnp.split(gh, 3, axis=-1)
            r, z = jax.nn.sigmoid(ir + hr), jax.nn.sigmoid(iz + hz)
            n = jnp.tanh(in_ + r * hn)
            h = (1 - z) * n + z * h
        else:
            h = (jnp.tanh if mode == "RNN_TANH" else jax.nn.relu)(gi + gh)
        return (h, c), h

    (h, c), ys = jax.lax.scan(step, (h, c), x, reverse=reverse)
    return ys, h, (c if mode == "LSTM" else None)


def make(mode, dtype, T=4, N=3, I=5, H=6, P=0, bias=True, state=True, seed=0):
    G = GATES[mode]
    hout = P or H
    s = 0.4
    args = dict(x=randn(seed, (T, N, I), dtype), w_ih=randn(seed + 1, (G * H, I), dtype, s),
                w_hh=randn(seed + 2, (G * H, hout), dtype, s))
    if bias:
        args.update(b_ih=randn(seed + 3, (G * H,), dtype, s), b_hh=randn(seed + 4, (G * H,), dtype, s))
    if state:
        args["h0"] = randn(seed + 5, (N, hout), dtype, s)
        if mode == "LSTM":
            args["c0"] = randn(seed + 6, (N, H), dtype, s)
    if P:
        args["w_hr"] = randn(seed + 7, (P, H), dtype, s)
    return args


def as_positional(args, mode, reverse):
    names = [n for n in ("x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0", "w_hr") if n in args]

    def wrap(fn):
        def f(*a):
            y, h, c = fn(**dict(zip(names, a)), mode=mode, reverse=reverse)
            return (y, h) if c is None else (y, h, c)
        return f
    return wrap(kj.rnn_layer), wrap(reference_layer), tuple(args[n] for n in names)


# float64 for every configuration (check_grads runs there), float32 for one per mode family.
@pytest.mark.parametrize("dtype,mode,P,reverse,bias,state", [
    (np.float64, "LSTM", 0, False, True, True), (np.float64, "LSTM", 3, True, True, True),
    (np.float64, "LSTM", 0, False, False, False), (np.float64, "GRU", 0, False, True, True),
    (np.float64, "GRU", 0, True, False, False), (np.float64, "RNN_TANH", 0, False, True, True),
    (np.float64, "RNN_RELU", 0, True, True, False),
    (np.float32, "LSTM", 3, True, True, True), (np.float32, "GRU", 0, False, True, True)])
def test_rnn_layer_matches_scan_reference(dtype, mode, P, reverse, bias, state):
    ours, ref, args = as_positional(make(mode, dtype, P=P, bias=bias, state=state), mode, reverse)
    check_op(ours, ref, args, rtol=1e-4 if dtype == np.float32 else None,
             atol=1e-5 if dtype == np.float32 else None, vmap=(mode == "LSTM" and dtype == np.float64))


def test_rnn_stack_bidirectional_batch_first():
    mode, L, H, I, N, T = "LSTM", 2, 5, 4, 3, 6
    params = {}
    for layer in range(L):
        for sfx in ("", "_reverse"):
            fin = I if layer == 0 else 2 * H
            k = 10 * layer + (5 if sfx else 0)
            params[f"weight_ih_l{layer}{sfx}"] = randn(k, (4 * H, fin), np.float64, 0.4)
            params[f"weight_hh_l{layer}{sfx}"] = randn(k + 1, (4 * H, H), np.float64, 0.4)
            params[f"bias_ih_l{layer}{sfx}"] = randn(k + 2, (4 * H,), np.float64, 0.4)
            params[f"bias_hh_l{layer}{sfx}"] = randn(k + 3, (4 * H,), np.float64, 0.4)
    x = randn(99, (N, T, I), np.float64)

    def reference(x, params):
        x = jnp.swapaxes(x, 0, 1)
        hs, cs = [], []
        for layer in range(L):
            outs = []
            for d, sfx in enumerate(("", "_reverse")):
                p = [params[f"{n}_l{layer}{sfx}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                y, h, c = reference_layer(x, *p, mode=mode, reverse=bool(d))
                outs.append(y)
                hs.append(h)
                cs.append(c)
            x = jnp.concatenate(outs, -1)
        return jnp.swapaxes(x, 0, 1), jnp.stack(hs), jnp.stack(cs)

    ours = kj.rnn(x, params, mode=mode, num_layers=L, bidirectional=True, batch_first=True)
    for a, b in zip(ours, reference(x, params)):
        assert_close(a, b)
    g = jax.grad(lambda p: jnp.sum(kj.rnn(x, p, mode=mode, num_layers=L, bidirectional=True,
                                          batch_first=True)[0] ** 2))(params)
    gr = jax.grad(lambda p: jnp.sum(reference(x, p)[0] ** 2))(params)
    for k in params:
        assert_close(g[k], gr[k], what=k)


def test_rnn_layer_errors():
    a = make("LSTM", np.float64)
    with pytest.raises(ValueError, match="mode must be one of"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"], mode="lstm")
    with pytest.raises(ValueError, match="features"):
        kj.rnn_layer(a["x"][..., :2], a["w_ih"], a["w_hh"])
    with pytest.raises(ValueError, match="h0 has shape"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"], h0=a["h0"][:1])
    with pytest.raises(ValueError, match="for mode='LSTM' only"):
        g = make("GRU", np.float64)
        kj.rnn_layer(g["x"], g["w_ih"], g["w_hh"], c0=a["c0"], mode="GRU")
    with pytest.raises(TypeError, match="share one dtype"):
        kj.rnn_layer(a["x"].astype(np.float32), a["w_ih"], a["w_hh"])
