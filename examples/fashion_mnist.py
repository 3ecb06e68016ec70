"""Fashion-MNIST from its IDX files, and a small terminal progress bar.

Shared by the training examples. The default data directory is where Debian's
`dataset-fashion-mnist` package installs the real files; nothing is downloaded.
"""
import gzip
import os
import struct
import sys
import time

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _open(path):
    """Open `path`, or `path + '.gz'`, as a binary stream."""
    if os.path.exists(path):
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(
        f"{path}(.gz) not found: install Debian's dataset-fashion-mnist package "
        f"or pass --data DIR with the four IDX files")


def read_idx(path):
    """An IDX file (the MNIST format) as a NumPy array of its stored shape."""
    with _open(path) as f:
        zero, dtype_code, ndim = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"{path}: not an unsigned-byte IDX file")
        shape = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        data = np.frombuffer(f.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {int(np.prod(shape))} bytes of data, got {data.size}")
    return data.reshape(shape)


def load(data_dir=DEFAULT_DIR, split="train"):
    """(images, labels): images float32 (n, 28, 28) in [0, 1], labels int64 (n,)."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
    if len(images) != len(labels):
        raise ValueError(f"{data_dir}: {len(images)} images but {len(labels)} labels")
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def load_standardised(data_dir=DEFAULT_DIR, limit=0):
    """((x_train, y_train), (x_test, y_test)): images float32 (n, 1, 28, 28) standardised
    with the training set's mean and std (of its first ``limit`` images when limit > 0,
    which also cuts the training set), labels int64 (n,)."""
    x_train, y_train = load(data_dir, "train")
    x_test, y_test = load(data_dir, "test")
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    mean, std = float(x_train.mean()), float(x_train.std())

    def prepare(x):
        return ((x[:, None] - mean) / std).astype(np.float32)

    return (prepare(x_train), y_train), (prepare(x_test), y_test)


class ProgressBar:
    """`epoch 1/5 [########------------] 41% loss 0.0312  9120 img/s`, redrawn in place
    (`unit` names what is counted: 'img', 'words')."""

    def __init__(self, total, prefix, width=24, stream=sys.stderr, unit="img"):
        self.total, self.prefix, self.width, self.stream = total, prefix, width, stream
        self.unit = unit
        self.done, self.start, self.last_draw = 0, time.perf_counter(), 0.0
        self.interactive = stream.isatty()

    def update(self, n, **metrics):
        self.done += n
        now = time.perf_counter()
        if now - self.last_draw >= 0.1 or self.done >= self.total:
            self.last_draw = now
            self._draw(now, metrics)

    def _draw(self, now, metrics):
        frac = self.done / max(1, self.total)
        filled = int(round(frac * self.width))
        rate = self.done / max(1e-9, now - self.start)
        text = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        line = (f"{self.prefix} [{'#' * filled}{'-' * (self.width - filled)}] "
                f"{100 * frac:3.0f}% {text} {rate:7.0f} {self.unit}/s")
        if self.interactive:
            self.stream.write("\r" + line)
            if self.done >= self.total:
                self.stream.write("\n")
        elif self.done >= self.total:  # logs: one line per epoch
            self.stream.write(line + "\n")
        self.stream.flush()
