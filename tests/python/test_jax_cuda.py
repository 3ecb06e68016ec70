"""pykernels.jax on a GPU: the CUDA FFI handlers (XLA's stream into kn_exec) against the
CPU handlers, forward and gradients, under jit. Runs where jax has a GPU and libkernels
was built with CUDA (make test-gpu's pytest-cuda step); skips elsewhere."""
import numpy as np
import pytest

from _jax import jax, jnp, kj, randn

import pykernels


def _gpu():
    try:
        return jax.devices("gpu")[0]
    except RuntimeError:
        return None


pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(_gpu() is None or not pykernels.has_cuda(),
                                 reason="needs a jax GPU device and a CUDA build of libkernels")]


def _on(device, args):
    return [None if a is None else jax.device_put(a, device) for a in args]


def _same_on_gpu_and_cpu(fn, args, argnums, rtol=2e-3, atol=2e-3):
    cpu, gpu = jax.devices("cpu")[0], _gpu()

    def loss(*a):
        out = fn(*a)
        return jnp.sum(out * jnp.cos(jnp.arange(out.size, dtype=out.dtype).reshape(out.shape)))
    step = jax.jit(jax.value_and_grad(loss, argnums))
    v_cpu, g_cpu = step(*_on(cpu, args))
    v_gpu, g_gpu = step(*_on(gpu, args))
    assert list(v_gpu.devices())[0].platform == "gpu"
    np.testing.assert_allclose(np.asarray(v_gpu), np.asarray(v_cpu), rtol=rtol, atol=atol)
    for a, b in zip(g_gpu, g_cpu):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_relu_on_gpu(dtype):
    x, w, b = randn(0, (33, 17), dtype), randn(1, (9, 17), dtype), randn(2, (9,), dtype)
    _same_on_gpu_and_cpu(lambda x, w, b: kj.relu(kj.linear(x, w, b)), (x, w, b), (0, 1, 2))


def test_conv2d_pool_on_gpu():
    x, w, b = randn(0, (4, 3, 12, 12), np.float32), randn(1, (5, 3, 3, 3), np.float32), randn(2, (5,), np.float32)
    _same_on_gpu_and_cpu(lambda x, w, b: kj.max_pool2d(kj.conv2d(x, w, b, padding=1), (2, 2)),
                         (x, w, b), (0, 1, 2))


def test_cross_entropy_softmax_on_gpu():
    logits = randn(0, (16, 10), np.float32)
    labels = jnp.arange(16) % 10
    _same_on_gpu_and_cpu(lambda z, t: kj.cross_entropy(z, t) + jnp.sum(kj.softmax(z, axis=-1) ** 2),
                         (logits, labels), (0,))
