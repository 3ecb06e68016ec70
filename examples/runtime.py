"""What every training example does: check the device, set the thread counts, draw curves.

torch is imported by the functions that use it, not here: the JAX example
(lenet_jax.py) draws its curves with plot_curves and never imports torch."""
import os

import pykernels


def setup(device: str, threads: int) -> None:
    """Exit with a clear message when ``device`` is 'cuda' without a GPU or without a CUDA
    build of pykernels; give torch and pykernels the same CPU thread count."""
    import torch

    if device == "cuda" and not (torch.cuda.is_available() and pykernels.has_cuda()):
        raise SystemExit("--device cuda needs a CUDA device and a pykernels built with CUDA "
                         f"(torch.cuda.is_available() = {torch.cuda.is_available()}, "
                         f"pykernels.has_cuda() = {pykernels.has_cuda()})")
    torch.set_num_threads(threads)
    pykernels.set_num_threads(threads)


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only), or None with a note when
    matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return None
    return plt


def save_figure(plt, fig, path, what):
    """Write ``fig`` to the PNG ``path`` (creating its directory) and say so."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"{what}: {path}")


def plot_curves(path, histories, title):
    """Train/test loss and test accuracy per epoch, one line per run, to a PNG.
    ``histories``: {run name: {"epoch", "train_loss", "test_loss", "test_accuracy": lists}}."""
    plt = pyplot()
    if plt is None:
        return
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for name, h in histories.items():
        ax_loss.plot(h["epoch"], h["train_loss"], marker="o", label=f"{name} train")
        ax_loss.plot(h["epoch"], h["test_loss"], marker="s", linestyle="--", label=f"{name} test")
        ax_acc.plot(h["epoch"], h["test_accuracy"], marker="o", label=name)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title=f"{title}: loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(plt, fig, path, "training curves")


def evaluate_classifier(model, loss_fn, images, labels, batch_size=1000):
    """(mean loss, accuracy in percent) of ``model`` on a labelled set, in eval mode and
    inference mode (BatchNorm uses its running statistics, nothing is saved)."""
    import torch

    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            logits = model(images[i:i + batch_size])
            target = labels[i:i + batch_size]
            total_loss += loss_fn(logits, target).item() * len(target)
            correct += (logits.argmax(1) == target).sum().item()
    n = max(1, len(images))
    return total_loss / n, 100.0 * correct / n


def save_checkpoint(path, **state):
    """torch.save(state) to ``path``, creating its directory."""
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)


def print_comparison(ours, theirs, name="pykernels"):
    """The --compare summary: both runs' last test accuracy and mean epoch time, and the
    time ratio. ``ours``, ``theirs``: histories with "test_accuracy" and "seconds"."""
    ours_s = sum(ours["seconds"]) / len(ours["seconds"])
    theirs_s = sum(theirs["seconds"]) / len(theirs["seconds"])
    print(f"{name}: test accuracy {ours['test_accuracy'][-1]:.2f}%, {ours_s:.2f} s/epoch")
    print(f"torch.nn:  test accuracy {theirs['test_accuracy'][-1]:.2f}%, {theirs_s:.2f} s/epoch")
    print(f"time ratio {name}/torch: {ours_s / theirs_s:.2f}")
