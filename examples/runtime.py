"""What every training example does first: check the device and set the thread counts."""
import pykernels
import torch


def setup(device: str, threads: int) -> None:
    """Exit with a clear message when ``device`` is 'cuda' without a GPU or without a CUDA
    build of pykernels; give torch and pykernels the same CPU thread count."""
    if device == "cuda" and not (torch.cuda.is_available() and pykernels.has_cuda()):
        raise SystemExit("--device cuda needs a CUDA device and a pykernels built with CUDA "
                         f"(torch.cuda.is_available() = {torch.cuda.is_available()}, "
                         f"pykernels.has_cuda() = {pykernels.has_cuda()})")
    torch.set_num_threads(threads)
    pykernels.set_num_threads(threads)
