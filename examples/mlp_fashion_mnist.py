"""Train the classic from-scratch MLP on Fashion-MNIST with pykernels layers.

    784 -> Linear 128 -> ReLU -> Linear 64 -> ReLU -> Linear 10,
    MSE loss on one-hot targets, plain SGD.

Every layer is a pykernels.torch.nn module (our C++ kernels, forward and
backward); torch supplies tensors, autograd and the optimiser. `--compare`
trains the identical torch.nn model from the same seed and reports both.

    python examples/mlp_fashion_mnist.py [--epochs 10] [--compare] [--data DIR]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402


def build_mlp(nn):
    """The MLP from a module namespace: torch.nn or pykernels.torch.nn."""
    return torch.nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10))


def evaluate(model, images, labels, batch_size=1000):
    """Accuracy in percent of `model` on (images (n,784), labels (n,))."""
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            logits = model(images[i:i + batch_size])
            correct += (logits.argmax(1) == labels[i:i + batch_size]).sum().item()
    return 100.0 * correct / max(1, len(images))


def train(name, nn, data, args):
    """Train build_mlp(nn) from args.seed; returns (test accuracy %, seconds per epoch)."""
    (x_train, y_train), (x_test, y_test) = data
    torch.manual_seed(args.seed)
    model = build_mlp(nn)
    loss_fn = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    targets = torch.nn.functional.one_hot(y_train, 10).to(x_train.dtype)
    order_gen = torch.Generator().manual_seed(args.seed)
    epoch_times = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=order_gen)
        bar = fashion_mnist.ProgressBar(len(x_train), f"[{name}] epoch {epoch}/{args.epochs}")
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        for i in range(0, len(x_train), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = loss_fn(model(x_train[idx]), targets[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            seen += len(idx)
            bar.update(len(idx), loss=total_loss / seen)
        epoch_times.append(time.perf_counter() - start)
        acc = evaluate(model, x_test, y_test)
        print(f"[{name}] epoch {epoch}: train loss {total_loss / seen:.4f}  "
              f"test accuracy {acc:.2f}%  ({epoch_times[-1]:.2f} s)", flush=True)
    return acc, sum(epoch_times) / len(epoch_times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=fashion_mnist.DEFAULT_DIR, help="directory of the IDX files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--compare", action="store_true", help="also train the identical torch.nn model")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    x_train, y_train = fashion_mnist.load(args.data, "train")
    x_test, y_test = fashion_mnist.load(args.data, "test")
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    data = ((torch.from_numpy(x_train.reshape(len(x_train), -1)), torch.from_numpy(y_train)),
            (torch.from_numpy(x_test.reshape(len(x_test), -1)), torch.from_numpy(y_test)))
    print(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test images from {args.data}")
    print(f"pykernels {pykernels.__version__}; BLAS: {pykernels.blas_info()}")

    acc, epoch_s = train("pykernels", pkt.nn, data, args)
    if args.compare:
        torch_acc, torch_epoch_s = train("torch", torch.nn, data, args)
        print(f"pykernels: test accuracy {acc:.2f}%, {epoch_s:.2f} s/epoch")
        print(f"torch.nn:  test accuracy {torch_acc:.2f}%, {torch_epoch_s:.2f} s/epoch")
        print(f"time ratio pykernels/torch: {epoch_s / torch_epoch_s:.2f}")
    print(f"test accuracy {acc:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
