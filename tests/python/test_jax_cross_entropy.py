"""pykernels.jax.softmax_cross_entropy_with_integer_labels against optax's formula and
pykernels.jax.cross_entropy against torch's semantics, both written in jnp: forward,
grad of the logits, jit, vmap (folded and per index), every option, errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn


def optax_reference(logits, labels, axis=-1):
    # optax.softmax_cross_entropy_with_integer_labels (jax.nn.log_softmax + take_along_axis)
    log_probs = jax.nn.log_softmax(logits, axis=axis)
    picked = jnp.take_along_axis(log_probs, jnp.expand_dims(labels, axis), axis=axis)
    return -jnp.squeeze(picked, axis)


def torch_reference(logits, labels, reduction="mean", weight=None, ignore_index=-100, label_smoothing=0.0):
    """torch.nn.functional.cross_entropy with class indices, in jnp."""
    cd = 0 if logits.ndim == 1 else 1
    classes = logits.shape[cd]
    lp = jnp.moveaxis(jax.nn.log_softmax(logits, axis=cd), cd, -1)  # (..., C)
    w = jnp.ones((classes,), logits.dtype) if weight is None else weight
    keep = labels != ignore_index
    safe = jnp.where(keep, labels, 0)
    w_t = jnp.where(keep, w[safe], 0)
    nll = -jnp.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    smooth = -jnp.sum(lp * w, axis=-1)
    loss = jnp.where(keep, (1 - label_smoothing) * w_t * nll + label_smoothing / classes * smooth, 0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return jnp.sum(loss)
    return jnp.sum(loss) / jnp.sum(w_t)


def labels_for(key, shape, classes, dtype=np.int32):
    return jax.random.randint(jax.random.key(key), shape, 0, classes).astype(dtype)


@pytest.mark.parametrize("dtype,shape,axis", [(np.float32, (5, 7), -1), (np.float64, (7,), 0),
                                               (np.float32, (2, 3, 4), 1), (np.float64, (2, 3, 4), 0),
                                               (np.float64, (0, 4), -1)])
def test_optax_name_matches_optax_formula(dtype, shape, axis):
    logits = randn(0, shape, dtype, scale=3.0)
    labels = labels_for(1, shape[:axis % len(shape)] + shape[axis % len(shape) + 1:], shape[axis])
    ours = lambda x, t: kj.softmax_cross_entropy_with_integer_labels(x, t, axis)  # noqa: E731
    ref = lambda x, t: optax_reference(x, t, axis)  # noqa: E731
    check_op(ours, ref, (logits, labels), vmap=len(shape) > 1 and shape[0] > 0,
             vmap_in_axes=(0, 0))


def test_optax_name_int64_labels_and_large_logits():
    logits = randn(2, (4, 6), np.float32) * 1e4  # the backward recomputes the log-sum-exp
    labels = labels_for(3, (4,), 6, np.int64)
    check_op(kj.softmax_cross_entropy_with_integer_labels, optax_reference, (logits, labels),
             rtol=1e-6, atol=2e-3, check_grads_f64=False)


@pytest.mark.parametrize("dtype,reduction,weighted", [
    (np.float32, "none", False), (np.float64, "none", True), (np.float32, "mean", False),
    (np.float64, "mean", True), (np.float32, "sum", True), (np.float64, "sum", False)])
def test_cross_entropy_options(dtype, reduction, weighted):
    n, c = 6, 5
    logits = randn(4, (n, c), dtype, scale=2.0)
    labels = labels_for(5, (n,), c).at[2].set(-3)  # one ignored row
    weight = (jnp.abs(randn(6, (c,), dtype)) + 0.5) if weighted else None

    def ours(x, t, w=None):
        return kj.cross_entropy(x, t, reduction, w, ignore_index=-3, label_smoothing=0.2)

    def ref(x, t, w=None):
        return torch_reference(x, t, reduction, w, ignore_index=-3, label_smoothing=0.2)

    args = (logits, labels) + ((weight,) if weighted else ())
    # vmap: logits and labels mapped, weight not (the fold for 'none'), then all mapped
    check_op(ours, ref, args, argnums=(0,), vmap_in_axes=(0, 0) + ((None,) if weighted else ()))
    if weighted:
        check_op(ours, ref, args, argnums=(0,), grad=False)


@pytest.mark.parametrize("shape,reduction", [((5,), "none"), ((2, 4, 3), "sum"), ((2, 4, 3, 2), "mean")])
def test_cross_entropy_shapes(reduction, shape):
    """Unbatched (C,) and spatial (N, C, d1..dk) inputs, the class dim being 1."""
    logits = randn(7, shape)
    lshape = () if len(shape) == 1 else shape[:1] + shape[2:]
    labels = labels_for(8, lshape, shape[0 if len(shape) == 1 else 1], np.int64)

    def ours(x, t):
        return kj.cross_entropy(x, t, reduction, label_smoothing=0.1)

    def ref(x, t):
        return torch_reference(x, t, reduction, label_smoothing=0.1)

    check_op(ours, ref, (logits, labels))


def test_cross_entropy_every_row_ignored_mean_is_nan():
    logits, labels = randn(9, (3, 4)), jnp.full((3,), -100, jnp.int32)
    assert np.isnan(float(kj.cross_entropy(logits, labels)))
    assert float(kj.cross_entropy(logits, labels, "sum")) == 0.0
    np.testing.assert_array_equal(jax.grad(lambda x: kj.cross_entropy(x, labels, "sum"))(logits), 0.0)


def test_cross_entropy_defaults_match_torch_defaults():
    logits, labels = randn(10, (4, 3)), labels_for(11, (4,), 3)
    np.testing.assert_allclose(kj.cross_entropy(logits, labels), torch_reference(logits, labels), rtol=1e-12)


def test_cross_entropy_weight_is_a_constant():
    logits, labels, weight = randn(12, (4, 3)), labels_for(13, (4,), 3), jnp.array([1.0, 2.0, 3.0])
    gw = jax.grad(lambda w: kj.cross_entropy(logits, labels, "sum", w), allow_int=True)(weight)
    np.testing.assert_array_equal(gw, 0.0)


def test_cross_entropy_value_and_grad_under_jit():
    logits, labels = randn(14, (8, 10), np.float32), labels_for(15, (8,), 10)
    f = jax.jit(jax.value_and_grad(lambda x: kj.cross_entropy(x, labels)))
    v, g = f(logits)
    vr, gr = jax.value_and_grad(lambda x: torch_reference(x, labels))(logits)
    np.testing.assert_allclose(v, vr, rtol=1e-5)
    np.testing.assert_allclose(g, gr, rtol=1e-5, atol=1e-6)


def test_grad_under_vmap_folds_per_example_losses():
    xs, ts = randn(16, (3, 5, 4)), labels_for(17, (3, 5), 4)

    def loss(f):
        return lambda x, t: jnp.sum(f(x, t) ** 2)
    ours = jax.vmap(jax.grad(loss(kj.softmax_cross_entropy_with_integer_labels)))(xs, ts)
    ref = jax.vmap(jax.grad(loss(optax_reference)))(xs, ts)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    # folded into N: one forward and one backward call on 3*5 rows, no per-index loop
    jaxpr = str(jax.make_jaxpr(jax.vmap(jax.grad(loss(kj.softmax_cross_entropy_with_integer_labels))))(xs, ts))
    assert "scan" not in jaxpr and "while" not in jaxpr
    assert jaxpr.count("ffi_call[") == 2 and "f64[15,4]" in jaxpr


def test_errors():
    x, t = randn(0, (4, 3)), labels_for(1, (4,), 3)
    with pytest.raises(TypeError, match="probability targets"):
        kj.cross_entropy(x, x)
    with pytest.raises(TypeError, match="int32 or int64"):
        kj.softmax_cross_entropy_with_integer_labels(x, t.astype(jnp.uint8))
    with pytest.raises(ValueError, match="labels must have shape"):
        kj.cross_entropy(x, t[:3])
    with pytest.raises(ValueError, match="weight must have shape"):
        kj.cross_entropy(x, t, weight=jnp.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        kj.cross_entropy(x, t, "avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        kj.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="axis"):
        kj.softmax_cross_entropy_with_integer_labels(x, t, axis=2)
    with pytest.raises(TypeError, match="share one dtype"):
        kj.cross_entropy(x, t, weight=jnp.ones(3, jnp.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.cross_entropy(x.astype(jnp.int32), t)
    # out-of-range label: the CPU kernel refuses it when the call runs
    with pytest.raises(Exception, match="target"):
        jax.block_until_ready(kj.cross_entropy(x, t.at[0].set(3)))
