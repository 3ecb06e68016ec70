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

__all__ = ["lenet5", "mlp", "BasicBlock", "resnet_small", "ResNet18", "resnet18"]


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


class BasicBlock(torch.nn.Module):
    """ResNet's basic block (He et al. 2015), torchvision's layout and names:

        x -> conv3x3(stride) -> bn1 -> relu -> conv3x3 -> bn2 -> (+ shortcut(x)) -> relu

    ``shortcut`` is the identity, or ``downsample`` = 1x1 conv (stride) -> BatchNorm when
    the stride or the width changes. (N,cin,H,W) -> (N,cout,H/stride,W/stride).
    ``nn`` is the namespace the layers come from (pykernels.torch.nn or torch.nn)."""

    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1, nn=None):
        super().__init__()
        nn = _namespace(nn)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = torch.nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _stage(nn, cin: int, cout: int, blocks: int, stride: int) -> torch.nn.Sequential:
    layers = [BasicBlock(cin, cout, stride, nn)]
    layers += [BasicBlock(cout, cout, 1, nn) for _ in range(blocks - 1)]
    return torch.nn.Sequential(*layers)


def _init_resnet(model: torch.nn.Module) -> None:
    """torchvision's initialisation: Kaiming-normal convolutions (fan_out, ReLU),
    BatchNorm weight 1 and bias 0; each block's last BatchNorm starts at 0 when
    ``zero_init_residual`` is wanted (not here: the demo trains few epochs)."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)


def resnet_small(nn=None, widths=(32, 64, 128), blocks=(1, 1, 1), in_channels: int = 1,
                 num_classes: int = 10) -> torch.nn.Sequential:
    """A residual network for small images (28x28 Fashion-MNIST, 32x32 CIFAR), in the
    style of He et al.'s CIFAR ResNets:

        (N,1,28,28) conv3x3 w0 -> BN -> ReLU                         -> (N,w0,28,28)
                    stage 1: blocks[0] BasicBlocks, w0               -> (N,w0,28,28)
                    stage 2: blocks[1] BasicBlocks, w1, first stride 2 -> (N,w1,14,14)
                    stage 3: blocks[2] BasicBlocks, w2, first stride 2 -> (N,w2,7,7)
                    global average pool -> flatten -> fc num_classes
    """
    nn = _namespace(nn)
    w0, w1, w2 = widths
    model = torch.nn.Sequential(
        nn.Conv2d(in_channels, w0, 3, padding=1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True),
        _stage(nn, w0, w0, blocks[0], 1),
        _stage(nn, w0, w1, blocks[1], 2),
        _stage(nn, w1, w2, blocks[2], 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w2, num_classes))
    _init_resnet(model)
    return model


class ResNet18(torch.nn.Module):
    """torchvision's ``resnet18()`` written out (the same modules, names and shapes, so
    its state dicts load both ways), for 3x224x224 ImageNet-style inputs:

        (N,3,224,224) conv1 7x7/2 64 -> bn1 -> relu -> maxpool 3x3/2   -> (N,64,56,56)
                      layer1: 2 BasicBlocks 64                          -> (N,64,56,56)
                      layer2: 2 BasicBlocks 128, stride 2               -> (N,128,28,28)
                      layer3: 2 BasicBlocks 256, stride 2               -> (N,256,14,14)
                      layer4: 2 BasicBlocks 512, stride 2               -> (N,512,7,7)
                      avgpool (adaptive, 1x1) -> flatten -> fc num_classes
    """

    def __init__(self, nn=None, num_classes: int = 1000):
        super().__init__()
        nn = _namespace(nn)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(nn, 64, 64, 2, 1)
        self.layer2 = _stage(nn, 64, 128, 2, 2)
        self.layer3 = _stage(nn, 128, 256, 2, 2)
        self.layer4 = _stage(nn, 256, 512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        _init_resnet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(nn=None, num_classes: int = 1000) -> ResNet18:
    """torchvision's ResNet-18 layout on ``nn`` (pykernels.torch.nn by default)."""
    return ResNet18(nn, num_classes)
