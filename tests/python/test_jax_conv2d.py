"""pykernels.jax.conv2d against jax.lax.conv_general_dilated (+ bias): forward, grads of
x/w/b, jit, vmap rules, padding forms, errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(window_strides=(1, 1), padding=((0, 0), (0, 0)), rhs_dilation=(1, 1), groups=1):
    def ref(x, w, b=None):
        y = jax.lax.conv_general_dilated(x, w, window_strides, padding, rhs_dilation=rhs_dilation,
                                         feature_group_count=groups,
                                         precision=jax.lax.Precision.HIGHEST)
        return y if b is None else y + b[:, None, None]
    return ref


def ours(**kw):
    return lambda x, w, b=None: kj.conv2d(x, w, b, **kw)


CASES = [
    # (x shape, w shape, bias?, kwargs of ours, kwargs of the reference)
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {}, {}),
    ((2, 4, 9, 8), (6, 2, 3, 2), False, dict(window_strides=(2, 1), padding=(1, 0), feature_group_count=2),
     dict(window_strides=(2, 1), padding=((1, 1), (0, 0)), groups=2)),
    ((1, 2, 8, 9), (3, 2, 3, 3), True, dict(window_strides=2, padding=((2, 2), (1, 1)), rhs_dilation=(2, 1)),
     dict(window_strides=(2, 2), padding=((2, 2), (1, 1)), rhs_dilation=(2, 1))),
    ((3, 2, 5, 5), (2, 2, 3, 3), False, dict(padding="SAME"), dict(padding="SAME")),
    ((1, 3, 6, 6), (3, 1, 1, 1), True, dict(padding="VALID", feature_group_count=3), dict(groups=3)),
]


def _sparse(cases):
    """(dtype, case) pairs: each case (option set) in one dtype, the first in both (the
    kernels share their option logic between dtypes; float64 runs check_grads too; the
    compiles dominate the run time)."""
    return [pytest.param(dtype, case, id=f"{np.dtype(dtype).name}-case{i}")
            for i, case in enumerate(cases) for dtype in DTYPES if i == 0 or dtype == DTYPES[i % 2]]


@pytest.mark.parametrize("dtype,case", _sparse(CASES))
def test_conv2d_matches_lax(dtype, case):
    xs, ws, bias, kw, rkw = case
    x, w = randn(0, xs, dtype), randn(1, ws, dtype)
    args = (x, w, randn(2, (ws[0],), dtype)) if bias else (x, w)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    check_op(ours(**kw), reference(**rkw), args, **tol)


def test_conv2d_empty_batch():
    x, w = randn(0, (0, 2, 5, 5)), randn(1, (3, 2, 3, 3))
    y = kj.conv2d(x, w, padding=1)
    assert y.shape == (0, 3, 5, 5)
    dw = jax.grad(lambda w: kj.conv2d(x, w).sum())(w)
    np.testing.assert_array_equal(dw, np.zeros_like(w))


@pytest.mark.parametrize("in_axes", [(0, None, None), (2, None, None), (0, 0, None), (None, 0, 0)])
def test_conv2d_vmap_rules(in_axes):
    """vmap over x folds into N; a mapped w or b runs per index: both equal a loop."""
    x, w, b = randn(0, (2, 3, 6, 5)), randn(1, (4, 3, 3, 3)), randn(2, (4,))
    check_op(ours(padding=1), reference(padding=((1, 1), (1, 1))), (x, w, b), grad=False,
             vmap_in_axes=in_axes)


@pytest.mark.parametrize("argnums", [(0,), (1,), (2,), (0, 2)])
def test_conv2d_partial_grads_under_jit_and_vmap(argnums):
    """Only the requested gradients (the dx-only backward folds under vmap): each equals
    the reference's, per example."""
    xs, w, b = randn(0, (3, 2, 3, 6, 5)), randn(1, (4, 3, 3, 3)), randn(2, (4,))

    def loss(f):
        return lambda x, w, b: jnp.sum(f(x, w, b) ** 2)
    g = jax.jit(jax.vmap(jax.grad(loss(ours(padding=1)), argnums=argnums), in_axes=(0, None, None)))
    gr = jax.vmap(jax.grad(loss(reference(padding=((1, 1), (1, 1)))), argnums=argnums),
                  in_axes=(0, None, None))
    for a, r in zip(g(xs, w, b), gr(xs, w, b)):
        assert_close(a, r)


def test_conv2d_errors():
    # NumPy arguments: nothing to compile before the ValueError / TypeError
    x, w = np.zeros((2, 4, 6, 6)), np.zeros((3, 4, 3, 3))
    with pytest.raises(ValueError, match="channels"):
        kj.conv2d(x, w[:, :2])
    with pytest.raises(ValueError, match="channels"):
        kj.conv2d(x, np.zeros((3, 2, 3, 3)), feature_group_count=2)  # O=3 not divisible by 2
    with pytest.raises(ValueError, match="b has shape"):
        kj.conv2d(x, w, np.zeros(4))
    with pytest.raises(ValueError, match="asymmetric"):
        kj.conv2d(x, w, padding=((1, 0), (1, 1)))
    with pytest.raises(ValueError, match="asymmetric"):
        kj.conv2d(x, np.zeros((3, 4, 2, 2)), padding="SAME")  # total padding 1: odd
    with pytest.raises(ValueError, match="larger than the padded input"):
        kj.conv2d(x, np.zeros((3, 4, 7, 3)))
    with pytest.raises(ValueError, match=">= 1"):
        kj.conv2d(x, w, window_strides=0)
    with pytest.raises(ValueError, match=">= 0"):
        kj.conv2d(x, w, padding=-1)
    with pytest.raises(TypeError, match="padding"):
        kj.conv2d(x, w, padding=1.5)
    with pytest.raises(ValueError, match="feature_group_count"):
        kj.conv2d(x, w, feature_group_count=0)
    with pytest.raises(TypeError, match="share one dtype"):
        kj.conv2d(x.astype(np.float32), w)
    with pytest.raises(ValueError, match="x must have 4 dims"):
        kj.conv2d(x[0], w)


@pytest.mark.parametrize("argnums,absent_in,absent_out", [
    # bit i of kn_absent_in: operand i (dy, x, w) not passed; of kn_absent_out: dx, dw, db not computed
    ((0,), 0b010, 0b110), ((1,), 0b100, 0b101), ((2,), 0b110, 0b011), ((0, 1, 2), 0, 0)])
def test_conv2d_backward_computes_only_the_requested_gradients(argnums, absent_in, absent_out):
    x, w, b = randn(0, (2, 3, 5, 5)), randn(1, (4, 3, 3, 3)), randn(2, (4,))
    text = jax.jit(jax.grad(lambda x, w, b: jnp.sum(kj.conv2d(x, w, b) ** 2), argnums=argnums)) \
        .lower(x, w, b).as_text()
    calls = [line for line in text.splitlines() if "@pykernels.conv2d_backward" in line]
    assert len(calls) == 1, calls
    assert f"kn_absent_in = {absent_in} : i64" in calls[0]
    assert f"kn_absent_out = {absent_out} : i64" in calls[0]
