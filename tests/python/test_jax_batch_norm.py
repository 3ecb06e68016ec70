"""pykernels.jax.batch_norm against a jnp batch norm: training (batch statistics, torch's
running-statistics update) and eval (running statistics) forward, grads of x/weight/bias,
no gradient through the running statistics, jit, vmap (folded into the channels), errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(training, momentum=0.1, eps=1e-5):
    """(y, new_running_mean, new_running_var) as torch computes them."""
    def f(x, weight=None, bias=None, rm=None, rv=None):
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        per_channel = (1, c) + (1,) * (x.ndim - 2)
        if training:
            mean, var = jnp.mean(x, axis=axes), jnp.var(x, axis=axes)
        else:
            mean, var = rm, rv
        y = (x - mean.reshape(per_channel)) / jnp.sqrt(var.reshape(per_channel) + eps)
        if weight is not None:
            y = y * weight.reshape(per_channel)
        if bias is not None:
            y = y + bias.reshape(per_channel)
        if training and rm is not None:
            m = x.size // c
            rm = (1 - momentum) * rm + momentum * mean
            rv = (1 - momentum) * rv + momentum * var * m / (m - 1)
        return y, rm, rv
    return f


def ours(training, momentum=0.1, eps=1e-5):
    def f(x, weight=None, bias=None, rm=None, rv=None):
        return kj.batch_norm(x, rm, rv, weight, bias, training=training, momentum=momentum, eps=eps)
    return f


def first(f):
    return lambda *args: f(*args)[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training,shape,affine,tracked,momentum,eps", [
    (True, (4, 3, 5, 2), "wb", True, 0.1, 1e-5),
    (False, (4, 3, 5, 2), "wb", True, 0.1, 1e-5),
    (True, (5, 4), "w", True, 0.3, 1e-3),           # BatchNorm1d (N, C)
    (False, (5, 4), "b", True, 0.3, 1e-3),
    (True, (2, 3, 4), "", False, 0.1, 1e-5),        # (N, C, L), no affine, untracked
])
def test_batch_norm_matches_reference(dtype, training, shape, affine, tracked, momentum, eps):
    c = shape[1]
    x = randn(0, shape, dtype)
    w = randn(1, (c,), dtype) if "w" in affine else None
    b = randn(2, (c,), dtype) if "b" in affine else None
    rm, rv = (randn(3, (c,), dtype), jnp.abs(randn(4, (c,), dtype)) + 0.5) if tracked else (None, None)
    args = (x, w, b, rm, rv)
    argnums = tuple(i for i in range(3) if args[i] is not None)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    ours_f, ref_f = ours(training, momentum, eps), reference(training, momentum, eps)
    # y: the full sweep (grads of x, weight, bias)
    check_op(first(ours_f), first(ref_f), args, argnums=argnums, **tol)
    # the running statistics: updated as torch does in training, unchanged in eval
    _, new_rm, new_rv = ours_f(*args)
    _, ref_rm, ref_rv = ref_f(*args)
    if tracked:
        # the kernel updates its aliased copies: the caller's arrays are unchanged
        np.testing.assert_array_equal(rm, randn(3, (c,), dtype))
        assert_close(new_rm, ref_rm, **tol, what="running_mean")
        assert_close(new_rv, ref_rv, **tol, what="running_var")
        if not training:
            np.testing.assert_array_equal(new_rm, rm)
            np.testing.assert_array_equal(new_rv, rv)
        jitted = jax.jit(ours_f)(*args)
        np.testing.assert_array_equal(jitted[1], new_rm)
        np.testing.assert_array_equal(jitted[2], new_rv)
    else:
        assert new_rm is None and new_rv is None


def test_batch_norm_no_gradient_through_running_statistics():
    x, rm, rv = randn(0, (4, 3)), randn(1, (3,)), jnp.abs(randn(2, (3,))) + 0.5
    for training in (True, False):
        g = jax.grad(lambda x, rm, rv: sum(jnp.sum(o) for o in kj.batch_norm(x, rm, rv, training=training)[1:]),
                     argnums=(0, 1, 2))(x, rm, rv)
        for a in g:
            np.testing.assert_array_equal(a, np.zeros(a.shape))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("in_axes", [(0, None, None, None, None), (1, 0, None, 0, 0)])
def test_batch_norm_vmap_folds_into_channels(training, in_axes):
    """Each example keeps its own batch statistics: equal to a loop, outputs and grads."""
    x, w, b = randn(0, (4, 3, 2)), randn(1, (3,)), randn(2, (3,))
    rm, rv = randn(3, (3,)), jnp.abs(randn(4, (3,))) + 0.5
    check_op(ours(training), reference(training), (x, w, b, rm, rv), grad=False, vmap_in_axes=in_axes)
    xs = jnp.stack([x, 2 * x + 1])

    def loss(f):
        return lambda x, w, b: jnp.sum(f(x, w, b, rm, rv)[0] * jnp.arange(2.0))
    g = jax.jit(jax.vmap(jax.grad(loss(ours(training)), argnums=(0, 1, 2)), in_axes=(0, None, None)))(xs, w, b)
    gr = jax.vmap(jax.grad(loss(reference(training)), argnums=(0, 1, 2)), in_axes=(0, None, None))(xs, w, b)
    for a, r in zip(g, gr):
        assert_close(a, r)


def test_batch_norm_errors():
    x = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match="required"):
        kj.batch_norm(x)
    with pytest.raises(ValueError, match="both"):
        kj.batch_norm(x, np.zeros(3), training=True)
    with pytest.raises(ValueError, match="more than 1 value"):
        kj.batch_norm(np.zeros((1, 3)), training=True)
    with pytest.raises(ValueError, match="weight has shape"):
        kj.batch_norm(x, weight=np.ones(4), training=True)
    with pytest.raises(ValueError, match="2 to 8 dims"):
        kj.batch_norm(np.zeros(3), training=True)
    with pytest.raises(TypeError, match="training"):
        kj.batch_norm(x, training=1)
    with pytest.raises(ValueError, match="momentum"):
        kj.batch_norm(x, training=True, momentum=float("inf"))
    with pytest.raises(TypeError, match="share one dtype"):
        kj.batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32))
