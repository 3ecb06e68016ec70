"""Reference models built from a module namespace, so that the same architecture
can be instantiated on pykernels (``pykernels.torch.nn``, the default) or on torch
(``torch.nn``) with identical parameter names, shapes and initialisation:

    model = lenet5()                  # every layer a pykernels twin
    reference = lenet5(torch.nn)      # the identical torch model
    reference.load_state_dict(model.state_dict())

Used by examples/ and by ``python -m pykernels.torch.profile``.
"""
from __future__ import annotations

import torch

__all__ = ["lenet5", "mlp"]


def _namespace(nn):
    if nn is None:
        from . import nn as pk_nn
        return pk_nn
    return nn


def lenet5(nn=None, num_classes: int = 10) -> torch.nn.Sequential:
    """LeNet-5 for 1x28x28 images (MNIST, Fashion-MNIST), in its modern form
    (ReLU and max pooling instead of the 1998 paper's sigmoid-like squashing and
    average pooling; the layer sizes are the paper's):

        (N,1,28,28) conv 5x5, 6, padding 2 -> ReLU -> max pool 2   -> (N,6,14,14)
                    conv 5x5, 16           -> ReLU -> max pool 2   -> (N,16,5,5)
                    flatten -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc num_classes
    """
    nn = _namespace(nn)
    return torch.nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes))


def mlp(nn=None, sizes=(784, 128, 64, 10)) -> torch.nn.Sequential:
    """The from-scratch MLP: Linear layers of ``sizes`` with ReLU between them."""
    nn = _namespace(nn)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return torch.nn.Sequential(*layers)
