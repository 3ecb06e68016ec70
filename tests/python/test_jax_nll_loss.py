"""pykernels.jax.nll_loss against torch's nll_loss semantics written in jnp: every
reduction, weight, ignore_index, unbatched and spatial shapes, grad, jit, vmap, errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn


def reference(log_probs, labels, reduction="mean", weight=None, ignore_index=-100):
    cd = 0 if log_probs.ndim == 1 else 1
    lp = jnp.moveaxis(log_probs, cd, -1)  # (..., C)
    w = jnp.ones((lp.shape[-1],), lp.dtype) if weight is None else weight
    keep = labels != ignore_index
    safe = jnp.where(keep, labels, 0)
    w_t = jnp.where(keep, w[safe], 0)
    loss = -w_t * jnp.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    if reduction == "none":
        return loss
    return jnp.sum(loss) if reduction == "sum" else jnp.sum(loss) / jnp.sum(w_t)


def labels_for(key, shape, classes, dtype=np.int32):
    return jax.random.randint(jax.random.key(key), shape, 0, classes).astype(dtype)


@pytest.mark.parametrize("dtype,reduction,weighted", [
    (np.float32, "none", False), (np.float64, "none", True), (np.float32, "mean", True),
    (np.float64, "mean", False), (np.float64, "sum", True)])
def test_options(dtype, reduction, weighted):
    n, c = 6, 4
    log_probs = jax.nn.log_softmax(randn(0, (n, c), dtype))
    labels = labels_for(1, (n,), c, np.int64).at[3].set(2).at[4].set(7)
    weight = (jnp.abs(randn(2, (c,), dtype)) + 0.5) if weighted else None

    def ours(x, t, w=None):
        return kj.nll_loss(x, t, reduction, w, ignore_index=7)

    def ref(x, t, w=None):
        return reference(x, t, reduction, w, ignore_index=7)

    args = (log_probs, labels) + ((weight,) if weighted else ())
    check_op(ours, ref, args, argnums=(0,), vmap_in_axes=(0, 0) + ((None,) if weighted else ()))
    if weighted:  # a mapped weight: once per index
        check_op(ours, ref, args, argnums=(0,), grad=False)


@pytest.mark.parametrize("shape,reduction", [((5,), "none"), ((5,), "sum"), ((2, 3, 4, 2), "none"),
                                             ((2, 3, 4), "mean"), ((0, 3), "none")])
def test_shapes(shape, reduction):
    x = randn(3, shape)
    lshape = () if len(shape) == 1 else shape[:1] + shape[2:]
    t = labels_for(4, lshape, shape[0 if len(shape) == 1 else 1])
    check_op(lambda a, b: kj.nll_loss(a, b, reduction), lambda a, b: reference(a, b, reduction), (x, t),
             vmap=shape[0] > 0)


def test_defaults_and_all_ignored():
    x, t = randn(5, (4, 3)), labels_for(6, (4,), 3)
    np.testing.assert_allclose(kj.nll_loss(x, t), reference(x, t), rtol=1e-12)
    t = jnp.full((4,), -100, jnp.int32)
    assert np.isnan(float(kj.nll_loss(x, t)))
    np.testing.assert_array_equal(jax.grad(lambda a: kj.nll_loss(a, t, "sum"))(x), 0.0)


def test_errors():
    x, t = randn(0, (4, 3)), labels_for(1, (4,), 3)
    with pytest.raises(TypeError, match="int32 or int64"):
        kj.nll_loss(x, t.astype(jnp.float64))
    with pytest.raises(ValueError, match="labels must have shape"):
        kj.nll_loss(x, t[None])
    with pytest.raises(ValueError, match="weight must have shape"):
        kj.nll_loss(x, t, weight=jnp.ones((3, 1)))
    with pytest.raises(ValueError, match="reduction"):
        kj.nll_loss(x, t, None)
    with pytest.raises(TypeError, match="ignore_index"):
        kj.nll_loss(x, t, ignore_index=1.5)
    with pytest.raises(ValueError, match="log_probs"):
        kj.nll_loss(x[0, 0], t[0])
    with pytest.raises(Exception, match="target"):
        jax.block_until_ready(kj.nll_loss(x, t.at[1].set(-1)))
