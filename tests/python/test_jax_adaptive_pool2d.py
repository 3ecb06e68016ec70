"""pykernels.jax.adaptive_avg_pool2d / adaptive_max_pool2d against jnp means / maxima over
torch's bins [floor(i H / Ho), ceil((i + 1) H / Ho)): forward, grad, jit, vmap, sizes
(dividing or not, larger than the input, None, 0), errors."""
import math

import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(reduce, output_size):
    def f(x):
        h, w = x.shape[2:]
        ho, wo = output_size
        rows = []
        for i in range(ho):
            r0, r1 = (i * h) // ho, math.ceil((i + 1) * h / ho)
            rows.append(jnp.stack([reduce(x[:, :, r0:r1, (j * w) // wo:math.ceil((j + 1) * w / wo)], axis=(2, 3))
                                   for j in range(wo)], axis=-1))
        return jnp.stack(rows, axis=-2)
    return f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("shape,output_size,size", [
    ((2, 3, 8, 6), 2, (2, 2)),              # dividing
    ((1, 2, 7, 5), (3, None), (3, 5)),      # not dividing (overlapping bins); None keeps W
    ((2, 2, 3, 2), (5, 4), (5, 4)),         # larger than the input
])
def test_adaptive_pool2d_matches_reference(dtype, kind, shape, output_size, size):
    ours = kj.adaptive_avg_pool2d if kind == "avg" else kj.adaptive_max_pool2d
    check_op(lambda x: ours(x, output_size), reference(jnp.mean if kind == "avg" else jnp.max, size),
             (randn(0, shape, dtype),))


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool2d_empty(kind):
    """An empty output (Ho = 0, C = 0) or batch: no kernel call where the kernels refuse it;
    zero gradients."""
    ours = kj.adaptive_avg_pool2d if kind == "avg" else kj.adaptive_max_pool2d
    x = randn(0, (2, 3, 4, 4))
    assert ours(x, (0, 2)).shape == (2, 3, 0, 2)
    np.testing.assert_array_equal(jax.grad(lambda x: ours(x, (0, 2)).sum())(x), np.zeros(x.shape))
    assert ours(jnp.zeros((2, 0, 4, 4)), 2).shape == (2, 0, 2, 2)
    assert jax.grad(lambda x: ours(x, 2).sum())(jnp.zeros((0, 3, 4, 4))).shape == (0, 3, 4, 4)


def test_adaptive_max_pool2d_ties_send_the_gradient_to_the_first_maximum():
    x = jnp.ones((1, 1, 2, 4))
    dx = jax.grad(lambda x: kj.adaptive_max_pool2d(x, (1, 2)).sum())(x)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool2d_grad_under_vmap_folds(kind):
    xs = randn(0, (3, 2, 2, 7, 5))
    ours = kj.adaptive_avg_pool2d if kind == "avg" else kj.adaptive_max_pool2d
    ref = reference(jnp.mean if kind == "avg" else jnp.max, (3, 2))

    def loss(f):
        return lambda x: jnp.sum(f(x) ** 2)
    g = jax.jit(jax.vmap(jax.grad(loss(lambda x: ours(x, (3, 2))))))(xs)
    assert_close(g, jax.vmap(jax.grad(loss(ref)))(xs))


def test_adaptive_pool2d_errors():
    x = np.zeros((2, 3, 6, 6))
    with pytest.raises(ValueError, match="output_size"):
        kj.adaptive_avg_pool2d(x, -1)
    with pytest.raises(ValueError, match="output_size"):
        kj.adaptive_max_pool2d(x, (2, 1.5))
    with pytest.raises(TypeError, match="output_size"):
        kj.adaptive_max_pool2d(x, (2, 2, 2))
    with pytest.raises(ValueError, match="H, W >= 1"):
        kj.adaptive_avg_pool2d(np.zeros((2, 3, 0, 6)), 2)
    with pytest.raises(ValueError, match="x must have 4 dims"):
        kj.adaptive_max_pool2d(x[0], 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.adaptive_avg_pool2d(x.astype(np.int32), 2)
