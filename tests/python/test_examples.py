"""The training demo and its Fashion-MNIST loader."""
import gzip
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
import fashion_mnist  # noqa: E402


def write_idx(path, array, compress):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_loader_reads_generated_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28))
    labels = rng.integers(0, 10, size=7)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress)
    x, y = fashion_mnist.load(str(tmp_path), "test")
    assert x.shape == (7, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_loader_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist.load(str(tmp_path), "train")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 2, 2)), False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2), False)
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        fashion_mnist.load(str(tmp_path), "test")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        fashion_mnist.read_idx(str(tmp_path / "bad"))


@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_mlp_demo_trains_on_real_data():
    pytest.importorskip("torch")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "mlp_fashion_mnist.py"), "--epochs", "1",
         "--limit", "6000", "--compare"],
        check=True, capture_output=True, text=True, timeout=300).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 188 SGD steps: far above chance (10%) when forward and backward are right.
    assert float(match.group(1)) > 60.0, out
    torch_acc = float(re.search(r"torch.nn:  test accuracy (\d+\.\d\d)%", out).group(1))
    # Same seed, same initial weights, same batches: the two runs agree closely.
    assert abs(float(match.group(1)) - torch_acc) < 2.0, out


@pytest.mark.skipif(not pathlib.Path(fashion_mnist.DEFAULT_DIR).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_lenet_demo_trains_checkpoints_resumes_and_plots(tmp_path):
    torch = pytest.importorskip("torch")
    from pykernels.torch.models import lenet5
    script = str(EXAMPLES / "lenet_fashion_mnist.py")
    ckpt, png = tmp_path / "lenet.pt", tmp_path / "curves.png"
    common = ["--limit", "3000", "--threads", "2", "--plot", str(png)]
    out = subprocess.run([sys.executable, script, "--epochs", "1", "--compare", "--save", str(ckpt),
                          *common], check=True, capture_output=True, text=True, timeout=600).stdout
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", last)
    assert match, out
    # 47 Adam steps of LeNet-5: far above chance (10%) when every layer is right.
    assert float(match.group(1)) > 60.0, out
    torch_acc = float(re.search(r"torch.nn:  test accuracy (\d+\.\d\d)%", out).group(1))
    # Same seed, same initial weights, same batches: the two runs agree closely.
    assert abs(float(match.group(1)) - torch_acc) < 3.0, out
    assert re.search(r"time ratio pykernels/torch: \d+\.\d\d", out), out
    assert re.search(r"epoch 1: train loss \d+\.\d+  test loss \d+\.\d+  test accuracy", out), out
    assert png.stat().st_size > 1000

    # The checkpoint's weights load into the identical torch.nn model, and predict the same.
    state = torch.load(ckpt, weights_only=False)
    assert state["epoch"] == 1
    reference = lenet5(torch.nn)
    reference.load_state_dict(state["model"])
    ours = lenet5()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)

    # Resume: continues with epoch 2 from the saved state.
    out = subprocess.run([sys.executable, script, "--epochs", "2", "--resume", str(ckpt), *common],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    assert "resumed from" in out and "epoch 2:" in out and "epoch 1:" not in out, out
    assert re.fullmatch(r"test accuracy \d+\.\d\d%", out.strip().splitlines()[-1]), out
