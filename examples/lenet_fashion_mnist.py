"""Train LeNet-5 on Fashion-MNIST with pykernels layers only (the main demo).

    (N,1,28,28) conv 5x5 6 -> ReLU -> max pool 2 -> conv 5x5 16 -> ReLU -> max pool 2
                -> flatten -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc 10,
    cross-entropy loss, Adam.

Every layer and the loss are pykernels.torch.nn modules (our C++/CUDA kernels,
forward and backward); torch supplies tensors, autograd and the optimiser.

    python examples/lenet_fashion_mnist.py                 # 10 epochs on 2 CPU threads
    python examples/lenet_fashion_mnist.py --compare       # also the identical torch.nn model
    python examples/lenet_fashion_mnist.py --save ckpt.pt  # checkpoint after every epoch
    python examples/lenet_fashion_mnist.py --resume ckpt.pt --epochs 15
    python examples/lenet_fashion_mnist.py --device cuda

A checkpoint's "model" entry is a plain state_dict: it loads into
``pykernels.torch.models.lenet5(torch.nn)`` (the identical torch model) and back.
The training curves are drawn to a PNG at the end (--plot). The last line
printed is ``test accuracy NN.NN%``.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import runtime  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch.models import lenet5  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_data(args):
    """Train/test tensors on args.device: images (n,1,28,28) standardised with the
    training set's mean and std, labels int64 (n,)."""
    train, test = fashion_mnist.load_standardised(args.data, args.limit)

    def prepare(x, y):
        return torch.from_numpy(x).to(args.device), torch.from_numpy(y).to(args.device)

    return prepare(*train), prepare(*test)


def train(name, nn, data, args):
    """Train lenet5(nn) from args.seed (or from --resume); returns the history dict."""
    (x_train, y_train), (x_test, y_test) = data
    torch.manual_seed(args.seed)
    model = lenet5(nn).to(args.device)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    order_gen = torch.Generator().manual_seed(args.seed)
    history = {"epoch": [], "train_loss": [], "test_loss": [], "test_accuracy": [],
               "seconds": []}
    first_epoch = 1
    if args.resume and name == "pykernels":
        ckpt = torch.load(args.resume, map_location=args.device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        order_gen.set_state(ckpt["order_generator"])
        history = ckpt["history"]
        first_epoch = ckpt["epoch"] + 1
        print(f"[{name}] resumed from {args.resume} after epoch {ckpt['epoch']}")

    for epoch in range(first_epoch, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=order_gen).to(args.device)
        bar = fashion_mnist.ProgressBar(len(x_train), f"[{name}] epoch {epoch}/{args.epochs}")
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        for i in range(0, len(x_train), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            seen += len(idx)
            bar.update(len(idx), loss=total_loss / seen)
        seconds = time.perf_counter() - start
        test_loss, acc = runtime.evaluate_classifier(model, loss_fn, x_test, y_test)
        for key, value in zip(history, (epoch, total_loss / seen, test_loss, acc, seconds)):
            history[key].append(value)
        print(f"[{name}] epoch {epoch}: train loss {total_loss / seen:.4f}  test loss "
              f"{test_loss:.4f}  test accuracy {acc:.2f}%  ({seconds:.2f} s)", flush=True)
        if args.save and name == "pykernels":
            runtime.save_checkpoint(args.save, model=model.state_dict(), optimizer=opt.state_dict(),
                                    order_generator=order_gen.get_state(), epoch=epoch, history=history,
                                    args=vars(args))
    if not history["epoch"]:
        raise SystemExit(f"nothing to train: --epochs {args.epochs} is not after the "
                         f"checkpoint's epoch {first_epoch - 1}")
    return history


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=fashion_mnist.DEFAULT_DIR, help="directory of the IDX files")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    p.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    p.add_argument("--plot", metavar="PNG", default=os.path.join(ROOT, "runs", "lenet_fashion_mnist.png"),
                   help="where to draw the training curves ('' = no plot)")
    p.add_argument("--compare", action="store_true", help="also train the identical torch.nn model")
    args = p.parse_args(argv)

    runtime.setup(args.device, args.threads)
    data = load_data(args)
    print(f"Fashion-MNIST: {len(data[0][0])} train / {len(data[1][0])} test images from {args.data}")
    print(f"pykernels {pykernels.__version__} on {args.device}; BLAS: {pykernels.blas_info()}")

    histories = {"pykernels": train("pykernels", pkt.nn, data, args)}
    if args.compare:
        histories["torch"] = train("torch", torch.nn, data, args)
    if args.plot:
        runtime.plot_curves(args.plot, histories, "LeNet-5 on Fashion-MNIST")
    ours = histories["pykernels"]
    acc = ours["test_accuracy"][-1]
    if args.compare:
        runtime.print_comparison(ours, histories["torch"])
    print(f"test accuracy {acc:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
