"""Train a residual network on Fashion-MNIST with pykernels layers only.

    (N,1,28,28) conv3x3 24 -> BN -> ReLU
                stage 1: BasicBlock 24                                (28x28)
                stage 2: BasicBlock 48, stride 2, 1x1-conv shortcut   (14x14)
                stage 3: BasicBlock 96, stride 2, 1x1-conv shortcut   (7x7)
    global average pool -> fc 10,
    cross-entropy loss; SGD with Nesterov momentum and weight decay (or Adam), a one-cycle
    learning rate (linear warm-up, cosine decay); random crops (padding 1) and horizontal
    flips done with tensor ops on each batch.

Every layer (Conv2d, BatchNorm2d, ReLU, AdaptiveAvgPool2d, Linear) and the loss are
pykernels.torch.nn modules (our C++/CUDA kernels, forward and backward); torch supplies
tensors, autograd and the optimiser. The model is
``pykernels.torch.models.resnet_small``; ``resnet_small(torch.nn)`` is its torch twin.

    python examples/resnet_fashion_mnist.py                 # 10 epochs on 2 CPU threads
    python examples/resnet_fashion_mnist.py --compare       # also the identical torch.nn model
    python examples/resnet_fashion_mnist.py --save ckpt.pt  # checkpoint after every epoch
    python examples/resnet_fashion_mnist.py --resume ckpt.pt --epochs 12
    python examples/resnet_fashion_mnist.py --widths 32,64,128 --blocks 2,2,2   # bigger
    python examples/resnet_fashion_mnist.py --device cuda

A checkpoint's "model" entry is a plain state_dict (BatchNorm's running_mean, running_var
and num_batches_tracked included): it loads into ``resnet_small(torch.nn)`` and back.
The training curves are drawn to a PNG at the end (--plot). The last line printed is
``test accuracy NN.NN%``.
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import runtime  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch.models import resnet_small  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_data(args):
    """Train/test tensors on args.device: images (n,1,28,28) standardised with the
    training set's mean and std, labels int64 (n,)."""
    x_train, y_train = fashion_mnist.load(args.data, "train")
    x_test, y_test = fashion_mnist.load(args.data, "test")
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
        x_test, y_test = x_test[:max(args.limit // 6, 1)], y_test[:max(args.limit // 6, 1)]
    mean, std = float(x_train.mean()), float(x_train.std())

    def prepare(x, y):
        x = (torch.from_numpy(x).unsqueeze(1) - mean) / std
        return x.to(args.device), torch.from_numpy(y).to(args.device)

    return prepare(x_train, y_train), prepare(x_test, y_test), -mean / std


def augment(images, background, pad, generator):
    """Random crops and horizontal flips of a batch, with tensor ops only.

    images (n,1,H,W) -> (n,1,H,W): each image is padded by ``pad`` pixels of the
    background value on every side, cropped back to HxW at a random offset in
    [0, 2 pad]^2, and mirrored left-right with probability 1/2. The random numbers come
    from ``generator`` (on the CPU), so both twins see the same batches."""
    n, _, h, w = images.shape
    dev = images.device
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(dev)
    flip = (torch.rand(n, generator=generator) < 0.5).to(dev)
    if pad:
        images = torch.nn.functional.pad(images, (pad, pad, pad, pad), value=background)
    rows = offsets[0].view(n, 1, 1) + torch.arange(h, device=dev).view(1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    cols = torch.where(flip.view(n, 1, 1), w - 1 - cols, cols) + offsets[1].view(n, 1, 1)
    batch = torch.arange(n, device=dev).view(n, 1, 1)
    return images[batch, 0, rows, cols].unsqueeze(1)


def learning_rate(args, step, total_steps):
    """One cycle: linear warm-up over the first ``args.warmup`` of the steps to args.lr,
    then cosine decay to 0. A function of the step alone, so --resume continues it."""
    warm = max(1, int(args.warmup * total_steps))
    if step < warm:
        return args.lr * (step + 1) / warm
    t = (step - warm) / max(1, total_steps - warm)
    return args.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(args, model):
    if args.optimizer == "adam":
        return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    # no weight decay on BatchNorm's and the head's biases: the usual ResNet recipe
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=args.lr, momentum=0.9, nesterov=True)


def train(name, nn, data, args):
    """Train resnet_small(nn) from args.seed (or from --resume); returns the history dict."""
    (x_train, y_train), (x_test, y_test), background = data
    torch.manual_seed(args.seed)
    model = resnet_small(nn, widths=args.widths, blocks=args.blocks).to(args.device)
    loss_fn = nn.CrossEntropyLoss()
    opt = make_optimizer(args, model)
    gen = torch.Generator().manual_seed(args.seed)  # batch order and augmentation
    history = {"epoch": [], "train_loss": [], "test_loss": [], "test_accuracy": [],
               "seconds": []}
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    first_epoch = 1
    if args.resume and name == "pykernels":
        ckpt = torch.load(args.resume, map_location=args.device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        history = ckpt["history"]
        first_epoch = ckpt["epoch"] + 1
        print(f"[{name}] resumed from {args.resume} after epoch {ckpt['epoch']}")

    for epoch in range(first_epoch, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=gen).to(args.device)
        bar = fashion_mnist.ProgressBar(len(x_train), f"[{name}] epoch {epoch}/{args.epochs}")
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        for b, i in enumerate(range(0, len(x_train), args.batch_size)):
            idx = order[i:i + args.batch_size]
            images = x_train[idx]
            if args.augment:
                images = augment(images, background, args.crop_padding, gen)
            for group in opt.param_groups:
                group["lr"] = learning_rate(args, (epoch - 1) * steps_per_epoch + b, total_steps)
            loss = loss_fn(model(images), y_train[idx])
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
                                    generator=gen.get_state(), epoch=epoch, history=history,
                                    args=vars(args))
    if not history["epoch"]:
        raise SystemExit(f"nothing to train: --epochs {args.epochs} is not after the "
                         f"checkpoint's epoch {first_epoch - 1}")
    return history


def int_tuple(n):
    def parse(text):
        values = tuple(int(v) for v in text.split(","))
        if len(values) != n or min(values) < 1:
            raise argparse.ArgumentTypeError(f"expected {n} positive integers separated by commas")
        return values
    return parse


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=fashion_mnist.DEFAULT_DIR, help="directory of the IDX files")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                   help="SGD with Nesterov momentum 0.9, or AdamW")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (sgd 0.1, adam 3e-3)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup", type=float, default=0.15, help="fraction of the steps spent warming up")
    p.add_argument("--widths", type=int_tuple(3), default=(24, 48, 96), help="channels of the 3 stages")
    p.add_argument("--blocks", type=int_tuple(3), default=(1, 1, 1), help="BasicBlocks per stage")
    p.add_argument("--crop-padding", type=int, default=1, help="random crops: pixels of padding")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="no crops or flips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    p.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    p.add_argument("--plot", metavar="PNG", default=os.path.join(ROOT, "runs", "resnet_fashion_mnist.png"),
                   help="where to draw the training curves ('' = no plot)")
    p.add_argument("--compare", action="store_true", help="also train the identical torch.nn model")
    p.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.lr is None:
        args.lr = 0.1 if args.optimizer == "sgd" else 3e-3

    runtime.setup(args.device, args.threads)
    data = load_data(args)
    print(f"Fashion-MNIST: {len(data[0][0])} train / {len(data[1][0])} test images from {args.data}")
    print(f"pykernels {pykernels.__version__} on {args.device}; BLAS: {pykernels.blas_info()}")
    print(f"ResNet: widths {args.widths}, blocks {args.blocks}; {args.optimizer} lr {args.lr}, "
          f"batch {args.batch_size}, {args.epochs} epochs, augmentation {'on' if args.augment else 'off'}")

    histories = {}
    if not args.torch_only:
        histories["pykernels"] = train("pykernels", pkt.nn, data, args)
    if args.compare or args.torch_only:
        histories["torch"] = train("torch", torch.nn, data, args)
    if args.plot:
        runtime.plot_curves(args.plot, histories, "ResNet on Fashion-MNIST")
    ours = histories["torch" if args.torch_only else "pykernels"]
    acc = ours["test_accuracy"][-1]
    if args.compare and not args.torch_only:
        runtime.print_comparison(ours, histories["torch"])
    print(f"test accuracy {acc:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
