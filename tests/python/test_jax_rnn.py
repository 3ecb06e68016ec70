"""pykernels.jax.rnn_layer against torch's RNN / LSTM (with projection) / GRU formulas
written with jax.lax.scan: every mode, reverse, optional biases and initial states,
grads of every input, jit, vmap (per index), errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def reference(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, mode="LSTM", reverse=False):
    gh = w_ih.shape[0]
    hidden = gh // GATES[mode]
    hout = hidden if w_hr is None else w_hr.shape[0]
    n = x.shape[1]
    b_ih = jnp.zeros(gh, x.dtype) if b_ih is None else b_ih
    b_hh = jnp.zeros(gh, x.dtype) if b_hh is None else b_hh
    h = jnp.zeros((n, hout), x.dtype) if h0 is None else h0
    c = jnp.zeros((n, hidden), x.dtype) if c0 is None else c0

    def step(carry, xt):
        h, c = carry
        gi, gh_ = xt @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        if mode in ("RNN_TANH", "RNN_RELU"):
            h = jnp.tanh(gi + gh_) if mode == "RNN_TANH" else jax.nn.relu(gi + gh_)
        elif mode == "LSTM":
            i, f, g, o = jnp.split(gi + gh_, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            if w_hr is not None:
                h = h @ w_hr.T
        else:
            ir, iz, in_ = jnp.split(gi, 3, axis=-1)
            hr, hz, hn = jnp.split(gh_, 3, axis=-1)
            r, z = jax.nn.sigmoid(ir + hr), jax.nn.sigmoid(iz + hz)
            h = (1 - z) * jnp.tanh(in_ + r * hn) + z * h
        return (h, c), h

    (h, c), y = jax.lax.scan(step, (h, c), x, reverse=reverse)
    return y, h, (c if mode == "LSTM" else None)


def case(seed, mode, t=4, n=3, i=5, hidden=6, proj=0, dtype=np.float64, bias=True, state=True):
    g = GATES[mode]
    hout = proj or hidden
    args = dict(x=randn(seed, (t, n, i), dtype), w_ih=randn(seed + 1, (g * hidden, i), dtype, 0.4),
                w_hh=randn(seed + 2, (g * hidden, hout), dtype, 0.4))
    if bias:
        args.update(b_ih=randn(seed + 3, (g * hidden,), dtype, 0.3),
                    b_hh=randn(seed + 4, (g * hidden,), dtype, 0.3))
    if state:
        args["h0"] = randn(seed + 5, (n, hout), dtype, 0.5)
        if mode == "LSTM":
            args["c0"] = randn(seed + 6, (n, hidden), dtype, 0.5)
    if proj:
        args["w_hr"] = randn(seed + 7, (proj, hidden), dtype, 0.4)
    return args


def run_case(mode, args, reverse=False, **kw):
    names = list(args)

    def ours(*a):
        y, h, c = kj.rnn_layer(**dict(zip(names, a)), mode=mode, reverse=reverse)
        return (y, h) if c is None else (y, h, c)

    def ref(*a):
        y, h, c = reference(**dict(zip(names, a)), mode=mode, reverse=reverse)
        return (y, h) if c is None else (y, h, c)

    check_op(ours, ref, tuple(args.values()), **kw)


@pytest.mark.parametrize("mode,dtype,reverse,bias,state", [
    ("LSTM", np.float64, False, True, True), ("LSTM", np.float32, True, False, False),
    ("GRU", np.float64, True, True, True), ("GRU", np.float32, False, True, False),
    ("RNN_TANH", np.float64, False, False, True), ("RNN_RELU", np.float64, True, True, False)])
def test_matches_scan_reference(mode, dtype, reverse, bias, state):
    # vmap: x mapped, weights shared (one call per index); the float32 cases skip it
    run_case(mode, case(0, mode, dtype=dtype, bias=bias, state=state), reverse,
             vmap=dtype == np.float64,
             vmap_in_axes=(0,) + (None,) * (len(case(0, mode, bias=bias, state=state)) - 1))


def test_lstm_projection():
    run_case("LSTM", case(10, "LSTM", proj=4), vmap=False)


def test_value_and_grad_under_jit_and_vmap_of_weights():
    a = case(20, "GRU", t=3, n=2, i=3, hidden=4, state=False, bias=False)
    loss = lambda f: lambda x, w_ih, w_hh: jnp.sum(f(x, w_ih, w_hh, mode="GRU")[0] ** 2)  # noqa: E731
    v, g = jax.jit(jax.value_and_grad(loss(kj.rnn_layer), argnums=(0, 1, 2)))(a["x"], a["w_ih"], a["w_hh"])
    vr, gr = jax.value_and_grad(loss(reference), argnums=(0, 1, 2))(a["x"], a["w_ih"], a["w_hh"])
    np.testing.assert_allclose(v, vr, rtol=1e-12)
    for p, q in zip(g, gr):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)
    ws = jnp.stack([a["w_ih"], 0.5 * a["w_ih"]])  # per-example weights: per-index weight grads
    ours = jax.vmap(jax.grad(loss(kj.rnn_layer), argnums=1), in_axes=(None, 0, None))(a["x"], ws, a["w_hh"])
    ref = jax.vmap(jax.grad(loss(reference), argnums=1), in_axes=(None, 0, None))(a["x"], ws, a["w_hh"])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_errors():
    a = case(0, "LSTM")
    with pytest.raises(ValueError, match="mode"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"], mode="lstm")
    with pytest.raises(ValueError, match="time-major"):
        kj.rnn_layer(a["x"][0], a["w_ih"], a["w_hh"])
    with pytest.raises(ValueError, match="hidden_size"):
        kj.rnn_layer(a["x"], a["w_ih"][:5], a["w_hh"])
    with pytest.raises(ValueError, match="w_hh must have shape"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"][:, :5])
    with pytest.raises(ValueError, match="h0 must have shape"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"], h0=a["h0"][:2])
    with pytest.raises(ValueError, match="LSTM-only"):
        kj.rnn_layer(a["x"], a["w_ih"][:18], a["w_hh"][:18], c0=a["c0"], mode="GRU")
    with pytest.raises(ValueError, match="proj_size"):
        kj.rnn_layer(a["x"], a["w_ih"], a["w_hh"], w_hr=randn(1, (6, 6)))
    with pytest.raises(TypeError, match="share one dtype"):
        kj.rnn_layer(a["x"].astype(np.float32), a["w_ih"], a["w_hh"])


def test_rnn_stack_bidirectional_batch_first():
    """kj.rnn: two bidirectional LSTM layers from torch-named params, batch-first, against
    the same stack of scan references; gradients of every parameter."""
    mode, layers, hidden, i, n, t = "LSTM", 2, 5, 4, 3, 6
    params = {}
    for layer in range(layers):
        for sfx in ("", "_reverse"):
            fin = i if layer == 0 else 2 * hidden
            k = 10 * layer + (5 if sfx else 0)
            params[f"weight_ih_l{layer}{sfx}"] = randn(k, (4 * hidden, fin), np.float64, 0.4)
            params[f"weight_hh_l{layer}{sfx}"] = randn(k + 1, (4 * hidden, hidden), np.float64, 0.4)
            params[f"bias_ih_l{layer}{sfx}"] = randn(k + 2, (4 * hidden,), np.float64, 0.4)
            params[f"bias_hh_l{layer}{sfx}"] = randn(k + 3, (4 * hidden,), np.float64, 0.4)
    x = randn(99, (n, t, i), np.float64)

    def stacked_reference(x, params):
        x = jnp.swapaxes(x, 0, 1)
        hs, cs = [], []
        for layer in range(layers):
            outs = []
            for d, sfx in enumerate(("", "_reverse")):
                p = [params[f"{name}_l{layer}{sfx}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                y, h, c = reference(x, *p, mode=mode, reverse=bool(d))
                outs.append(y)
                hs.append(h)
                cs.append(c)
            x = jnp.concatenate(outs, -1)
        return jnp.swapaxes(x, 0, 1), jnp.stack(hs), jnp.stack(cs)

    def ours(x, params):
        return kj.rnn(x, params, mode=mode, num_layers=layers, bidirectional=True, batch_first=True)

    for a, b in zip(ours(x, params), stacked_reference(x, params)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    g = jax.grad(lambda p: jnp.sum(ours(x, p)[0] ** 2))(params)
    gr = jax.grad(lambda p: jnp.sum(stacked_reference(x, p)[0] ** 2))(params)
    for k in params:
        np.testing.assert_allclose(g[k], gr[k], rtol=1e-9, atol=1e-10, err_msg=k)
