"""pykernels.jax.max_pool2d / avg_pool2d against jnp window maxima / jax.lax.reduce_window sums: forward, grad, jit,
vmap (folded into N), every option (padding forms, dilation, ceil_mode, count_include_pad,
divisor_override), errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn

lax = jax.lax


def _out_and_extra(n, k, s, p, d, ceil_mode):
    """torch's output size of one dim, and the padding past the high side that the last
    (ceil_mode) window reaches."""
    eff = d * (k - 1) + 1
    o = (n + 2 * p - eff + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o, max(0, (o - 1) * s + eff - (n + 2 * p))


def ref_max(k, s, p, d=(1, 1), ceil_mode=False):
    """The maximum over the stacked window taps (strided slices of x padded with -inf):
    jax.lax.reduce_window has no gradient with window_dilation."""
    def f(x):
        (ho, eh), (wo, ew) = (_out_and_extra(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode)
                              for i in range(2))
        xp = jnp.pad(x, ((0, 0), (0, 0), (p[0], p[0] + eh), (p[1], p[1] + ew)), constant_values=-jnp.inf)
        taps = [xp[:, :, i * d[0]:i * d[0] + (ho - 1) * s[0] + 1:s[0], j * d[1]:j * d[1] + (wo - 1) * s[1] + 1:s[1]]
                for i in range(k[0]) for j in range(k[1])]
        return jnp.max(jnp.stack(taps), axis=0)
    return f


def ref_avg(k, s, p, ceil_mode=False, count_include_pad=True, divisor_override=None):
    def f(x):
        h, w = x.shape[2:]
        (ho, eh), (wo, ew) = (_out_and_extra(x.shape[2 + i], k[i], s[i], p[i], 1, ceil_mode)
                              for i in range(2))

        def window_sum(a, pads):
            return lax.reduce_window(a, jnp.zeros((), a.dtype), lax.add, (1, 1) + tuple(k),
                                     (1, 1) + tuple(s), ((0, 0), (0, 0)) + pads)[:, :, :ho, :wo]
        total = window_sum(x, ((p[0], p[0] + eh), (p[1], p[1] + ew)))
        if divisor_override:
            return total / divisor_override
        if count_include_pad:  # the window clipped to the padded input (not the ceil overhang)
            count = window_sum(jnp.ones((1, 1, h + 2 * p[0], w + 2 * p[1]), x.dtype), ((0, eh), (0, ew)))
        else:
            count = window_sum(jnp.ones((1, 1, h, w), x.dtype), ((p[0], p[0] + eh), (p[1], p[1] + ew)))
        return total / count
    return f


MAX_CASES = [
    # (x shape, our kwargs, reference (k, s, p, d, ceil_mode))
    ((2, 3, 8, 8), dict(window_shape=2), ((2, 2), (2, 2), (0, 0), (1, 1), False)),
    ((2, 2, 9, 7), dict(window_shape=3, strides=2, padding=1, ceil_mode=True),
     ((3, 3), (2, 2), (1, 1), (1, 1), True)),
    ((1, 2, 9, 8), dict(window_shape=(3, 2), strides=(1, 2), padding=((1, 1), (0, 0)), dilation=(2, 1)),
     ((3, 2), (1, 2), (1, 0), (2, 1), False)),
    ((1, 3, 5, 6), dict(window_shape=3, strides=1, padding="SAME"), ((3, 3), (1, 1), (1, 1), (1, 1), False)),
]


def _sparse(cases):
    """(dtype, case) pairs: each case (option set) in one dtype, the first in both (the
    kernels share their option logic between dtypes; float64 runs check_grads too; the
    compiles dominate the run time)."""
    return [pytest.param(dtype, case, id=f"{np.dtype(dtype).name}-case{i}")
            for i, case in enumerate(cases) for dtype in DTYPES if i == 0 or dtype == DTYPES[i % 2]]


@pytest.mark.parametrize("dtype,case", _sparse(MAX_CASES))
def test_max_pool2d_matches_reduce_window(dtype, case):
    shape, kw, (k, s, p, d, ceil_mode) = case
    check_op(lambda x: kj.max_pool2d(x, **kw), ref_max(k, s, p, d, ceil_mode), (randn(0, shape, dtype),))


AVG_CASES = [
    ((2, 3, 8, 8), dict(window_shape=2), ((2, 2), (2, 2), (0, 0), False, True, None)),
    ((2, 2, 9, 7), dict(window_shape=3, strides=2, padding=1, ceil_mode=True, count_include_pad=False),
     ((3, 3), (2, 2), (1, 1), True, False, None)),
    ((1, 2, 8, 7), dict(window_shape=(3, 2), strides=(2, 1), padding=(1, 1), ceil_mode=True),
     ((3, 2), (2, 1), (1, 1), True, True, None)),
    ((1, 2, 5, 6), dict(window_shape=2, strides=1, divisor_override=3), ((2, 2), (1, 1), (0, 0), False, True, 3)),
]


@pytest.mark.parametrize("dtype,case", _sparse(AVG_CASES))
def test_avg_pool2d_matches_reduce_window(dtype, case):
    shape, kw, ref_args = case
    check_op(lambda x: kj.avg_pool2d(x, **kw), ref_avg(*ref_args), (randn(0, shape, dtype),))


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum():
    """torch's rule (the kernel's argmax): the first maximum of each window."""
    x = jnp.ones((1, 1, 2, 4))
    dx = jax.grad(lambda x: kj.max_pool2d(x, 2).sum())(x)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("fn", ["max", "avg"])
def test_pool2d_grad_under_vmap_folds(fn):
    xs = randn(0, (3, 2, 2, 6, 6))
    ours = (lambda x: kj.max_pool2d(x, 3, 2, 1)) if fn == "max" else (lambda x: kj.avg_pool2d(x, 3, 2, 1))
    ref = ref_max((3, 3), (2, 2), (1, 1)) if fn == "max" else ref_avg((3, 3), (2, 2), (1, 1))

    def loss(f):
        return lambda x: jnp.sum(f(x) ** 2)
    g = jax.jit(jax.vmap(jax.grad(loss(ours))))(xs)
    assert_close(g, jax.vmap(jax.grad(loss(ref)))(xs))


def test_pool2d_empty_batch():
    x = jnp.zeros((0, 2, 4, 4))
    assert kj.max_pool2d(x, 2).shape == (0, 2, 2, 2)
    assert jax.grad(lambda x: kj.avg_pool2d(x, 2).sum())(x).shape == (0, 2, 4, 4)


def test_pool2d_errors():
    x = np.zeros((2, 3, 6, 6))
    with pytest.raises(ValueError, match="more than half the window"):
        kj.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="asymmetric"):
        kj.max_pool2d(x, 2, padding="SAME", strides=1)  # total padding 1
    with pytest.raises(ValueError, match="too small"):
        kj.avg_pool2d(x, 7)
    with pytest.raises(ValueError, match=">= 1"):
        kj.max_pool2d(x, 2, dilation=0)
    with pytest.raises(ValueError, match="divisor_override"):
        kj.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="ceil_mode"):
        kj.avg_pool2d(x, 2, ceil_mode=1)
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.max_pool2d(np.zeros((1, 1, 4, 4), np.int32), 2)
    with pytest.raises(ValueError, match="x must have 4 dims"):
        kj.avg_pool2d(x[0], 2)
