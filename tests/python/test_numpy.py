"""The NumPy API: parity with a NumPy reference, out=, strided and negative-stride views."""
import sys

import numpy as np
import pytest

import pykernels as pk

DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def rand(*shape, dtype=np.float64):
    return np.random.standard_normal(shape).astype(dtype)


def test_import_does_not_import_torch():
    import subprocess
    code = "import sys, pykernels; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_library_info():
    assert pk.abi_version() == (pk._C.ABI_VERSION_MAJOR, pk._C.ABI_VERSION_MINOR)
    assert pk.__version__ == pk._C.version_string() and pk.__version__.count(".") == 2
    assert isinstance(pk.has_cuda(), bool)
    assert pk.blas_info().startswith(("OpenBLAS", "Intel(R) oneAPI Math Kernel Library")), pk.blas_info()
    assert pk._C.status_string(2) == "KN_ERR_SHAPE_MISMATCH"


CPU_INFO_KEYS = ["cpu", "vendor", "family", "model", "arch", "isa", "l1d", "l2", "l3", "elementwise",
                 "softmax", "gemm_ladder", "sdpa_softmax", "conv2d_direct", "blas"]


def test_cpu_info():
    info = pk.cpu_info()
    assert isinstance(info, str) and info
    assert pk.cpu_info() == info  # one string per process
    fields = pk.cpu_info_fields()
    assert list(fields) == CPU_INFO_KEYS, info
    assert all(fields.values()), info
    assert info == "; ".join(f"{k}={v}" for k, v in fields.items())
    # The BLAS core (OpenBLAS's core type, or MKL) is the one blas_info() names.
    if not fields["blas"].startswith("unavailable"):
        assert f"; core={fields['blas']};" in pk.blas_info()
    assert fields["gemm_ladder"].split()[0] in ("avx512", "portable")
    assert fields["elementwise"].split()[0] in ("avx512f", "avx2", "default", "none")
    # The parser on a given string.
    assert pk.cpu_info_fields("cpu=X; isa=avx2,fma; blas=Haswell (y=z)") == {
        "cpu": "X", "isa": "avx2,fma", "blas": "Haswell (y=z)"}


def test_num_threads_round_trip():
    default = pk.get_num_threads()
    try:
        pk.set_num_threads(1)
        assert pk.get_num_threads() == 1
    finally:
        pk.set_num_threads(0)
    assert pk.get_num_threads() == default
    with pytest.raises(pk.KernelError) as e:
        pk.set_num_threads(-1)
    assert e.value.status == "KN_ERR_INVALID_ARGUMENT"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_backward(dtype, bias):
    x, w = rand(7, 5, dtype=dtype), rand(3, 5, dtype=dtype)
    b = rand(3, dtype=dtype) if bias else None
    y = pk.linear(x, w, b)
    ref = x @ w.T + (b if bias else 0)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref, **tol(dtype))
    dy = rand(7, 3, dtype=dtype)
    dx, dw, db = pk.linear_backward(dy, x, w, need_bias=bias)
    np.testing.assert_allclose(dx, dy @ w, **tol(dtype))
    np.testing.assert_allclose(dw, dy.T @ x, **tol(dtype))
    if bias:
        np.testing.assert_allclose(db, dy.sum(0), **tol(dtype))
    else:
        assert db is None


def test_linear_backward_need_flags():
    x, w, dy = rand(4, 2), rand(3, 2), rand(4, 3)
    dx, dw, db = pk.linear_backward(dy, x, w, need_input=False, need_weight=True, need_bias=False)
    assert dx is None and db is None
    np.testing.assert_allclose(dw, dy.T @ x)


def test_linear_strided_views_no_copy():
    base = rand(12, 10)
    x = base[::2, 1::3]            # sliced: (6, 3)
    w = rand(3, 4).T               # transposed: (4, 3)
    b = rand(8)[::-2]              # negative stride: (4,)
    out_buf = np.zeros((4, 6))
    out = out_buf.T                # a transposed output view
    y = pk.linear(x, w, b, out=out)
    assert y is out
    np.testing.assert_allclose(out_buf.T, x @ w.T + b, rtol=1e-12)


def test_linear_negative_strides():
    x = rand(5, 4)[::-1, ::-1]
    w = rand(3, 4)[::-1]
    np.testing.assert_allclose(pk.linear(x, w), x @ w.T, rtol=1e-12)
    dy = rand(5, 3)[::-1]
    dx, dw, db = pk.linear_backward(dy, x, w)
    np.testing.assert_allclose(dx, dy @ w, rtol=1e-12)
    np.testing.assert_allclose(dw, dy.T @ x, rtol=1e-12)


def test_linear_leading_dims_and_1d():
    x, w, b = rand(2, 3, 5), rand(4, 5), rand(4)
    np.testing.assert_allclose(pk.linear(x, w, b), x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(pk.linear(x[0, 0], w, b), x[0, 0] @ w.T + b, rtol=1e-12)
    out = np.empty((2, 3, 4))
    assert pk.linear(x, w, b, out=out) is out
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu(dtype):
    x = rand(3, 4, 5, dtype=dtype)[:, ::-1, ::2]
    y = pk.relu(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    dy = rand(3, 4, 3, dtype=dtype)
    np.testing.assert_array_equal(pk.relu_backward(dy, x), dy * (x > 0))


def test_relu_in_place_and_out():
    x = rand(6, 7)
    expected = np.maximum(x, 0)
    assert pk.relu(x, out=x) is x
    np.testing.assert_array_equal(x, expected)
    buf = np.full((7, 6), np.nan)
    pk.relu(rand(6, 7), out=buf.T, num_threads=1)
    assert not np.isnan(buf).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mse_loss(dtype, reduction):
    a, t = rand(4, 6, dtype=dtype).T, rand(6, 8, dtype=dtype)[:, ::2]
    sq = (a.astype(np.float64) - t) ** 2
    ref = {"none": sq, "mean": sq.mean(), "sum": sq.sum()}[reduction]
    loss = pk.mse_loss(a, t, reduction)
    assert loss.shape == (() if reduction != "none" else a.shape) and loss.dtype == dtype
    np.testing.assert_allclose(loss, ref, **tol(dtype))
    g = rand(*a.shape, dtype=dtype) if reduction == "none" else np.array(1.5, dtype=dtype)
    di, dt = pk.mse_loss_backward(g, a, t, reduction, need_target=True)
    ref_di = 2 * (a - t) * g / (a.size if reduction == "mean" else 1)
    np.testing.assert_allclose(di, ref_di, **tol(dtype))
    np.testing.assert_allclose(dt, -ref_di, **tol(dtype))
    assert pk.mse_loss_backward(g, a, t, reduction)[1] is None


def test_mse_loss_out():
    a, t = rand(3, 3), rand(3, 3)
    out = np.empty(())
    assert pk.mse_loss(a, t, "sum", out=out) is out
    np.testing.assert_allclose(out, ((a - t) ** 2).sum())


def test_descriptor_path():
    """The raw-descriptor path of _C, driven by hand with NumPy memory."""
    x, y = rand(2, 3), np.empty((2, 3))
    desc = lambda a: (a.ctypes.data, pk._C.FLOAT64, pk._C.DEVICE_CPU, 0, a.shape,
                      tuple(s // a.itemsize for s in a.strides))
    pk._C.relu_forward(desc(x), desc(y))
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_kernel_calls_leave_the_callers_thread_count_alone():
    """OpenBLAS's OpenMP build follows (and openblas_set_num_threads sets) the calling
    thread's OpenMP default, which torch reports as torch.get_num_threads()."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        x = np.random.rand(256, 256).astype(np.float32)
        for n in (1, 3, 2, 1):
            pk.linear(x, x, num_threads=n)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
