"""Bad input raises the documented exception, never crashes."""
import numpy as np
import pytest
import torch

import pykernels as pk
from pykernels.torch import functional as F


# ------------------------------------------------------------------- NumPy


def test_error_classes():
    assert issubclass(pk.KernelError, RuntimeError)
    assert issubclass(pk.ShapeError, pk.KernelError) and issubclass(pk.ShapeError, ValueError)
    assert issubclass(pk.UnsupportedError, pk.KernelError)
    assert issubclass(pk.UnsupportedError, TypeError)


def test_numpy_shape_mismatch():
    with pytest.raises(ValueError) as e:
        pk.linear(np.ones((2, 3)), np.ones((4, 5)))
    assert isinstance(e.value, pk.KernelError)
    assert e.value.status == "KN_ERR_SHAPE_MISMATCH"
    assert "kn_linear_forward" in e.value.message and "w" in e.value.message
    with pytest.raises(pk.ShapeError):
        pk.mse_loss(np.ones(3), np.ones(4))
    with pytest.raises(pk.ShapeError):
        pk.relu_backward(np.ones(3), np.ones(4))


def test_numpy_unsupported_dtype():
    with pytest.raises(TypeError) as e:
        pk.relu(np.ones(3, dtype=np.int64))
    assert isinstance(e.value, pk.KernelError) and e.value.status == "KN_ERR_UNSUPPORTED"
    with pytest.raises(TypeError, match="complex"):
        pk.relu(np.ones(3, dtype=np.complex128))
    with pytest.raises(TypeError, match="byte order"):
        pk.relu(np.ones(3, dtype=">f8"))


def test_numpy_mixed_dtypes():
    with pytest.raises(pk.KernelError) as e:
        pk.linear(np.ones((2, 3)), np.ones((4, 3), dtype=np.float32))
    assert e.value.status == "KN_ERR_INVALID_ARGUMENT" and "dtype" in str(e.value)


def test_numpy_non_array_and_bad_out():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        pk.relu([1.0, -1.0])
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        pk.relu(np.ones(3), out=ro)
    with pytest.raises(ValueError):
        pk.relu(np.ones(3), out=np.ones(4))
    with pytest.raises(TypeError):
        pk.relu(np.ones(3), out=np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="reduction"):
        pk.mse_loss(np.ones(3), np.ones(3), reduction="avg")


def test_overlapping_output_rejected():
    x = np.ones(4)
    with pytest.raises(pk.KernelError) as e:
        pk.relu(x[:3], out=x[1:])
    assert e.value.status == "KN_ERR_INVALID_ARGUMENT"


def test_raw_descriptor_errors():
    with pytest.raises(TypeError, match="descriptor"):
        pk._C.relu_forward((0, 1), np.ones(1))
    with pytest.raises(TypeError, match="malformed"):
        pk._C.relu_forward((0, 1, 1, 0, "ab", ()), np.ones(1))
    with pytest.raises(pk.KernelError) as e:  # NULL data for a non-empty tensor
        pk._C.relu_forward((0, pk._C.FLOAT64, pk._C.DEVICE_CPU, 0, (3,), (1,)), np.ones(3))
    assert e.value.status == "KN_ERR_INVALID_ARGUMENT"
    with pytest.raises(ValueError, match="KN_MAX_DIMS"):
        pk.relu(np.ones((1,) * 9))


# ------------------------------------------------------------------- torch


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, torch.complex64])
def test_torch_unsupported_dtype(dtype):
    x = torch.ones(3, dtype=dtype)
    with pytest.raises(TypeError) as e:
        F.relu(x)
    assert "x" in str(e.value) and "relu" in str(e.value)


def test_torch_shape_mismatch():
    with pytest.raises(ValueError) as e:
        F.linear(torch.ones(2, 3), torch.ones(4, 5))
    assert e.value.status == "KN_ERR_SHAPE_MISMATCH"
    with pytest.raises(ValueError, match="broadcast"):
        F.mse_loss(torch.ones(2, 3), torch.ones(3))
    with pytest.raises(ValueError):
        F.linear(torch.tensor(1.0), torch.ones(4, 1))


def test_torch_mixed_dtypes():
    with pytest.raises(pk.KernelError, match="dtype"):
        F.linear(torch.ones(2, 3), torch.ones(4, 3, dtype=torch.float64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_without_cuda_build_or_mixed_devices():
    x = torch.ones(3, device="cuda")
    if not pk.has_cuda():
        with pytest.raises(pk.KernelError) as e:
            F.relu(x)
        assert e.value.status == "KN_ERR_NOT_BUILT"
    with pytest.raises(pk.KernelError) as e:
        F.linear(torch.ones(2, 3, device="cuda"), torch.ones(4, 3))
    assert e.value.status in ("KN_ERR_INVALID_ARGUMENT", "KN_ERR_NOT_BUILT")
