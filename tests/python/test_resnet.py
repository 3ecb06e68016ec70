"""Whole networks of issue 13 on pykernels: torchvision's ResNet-18 layout and a
MobileNetV2 inverted-residual block are switched by convert() layer for layer, match
torch in training and eval mode, train, and compile; the small ResNet of
examples/resnet_fashion_mnist.py has torch's state dict."""
import copy

import pytest

torch = pytest.importorskip("torch")
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch import models  # noqa: E402


def _close(a, b, tol=1e-4):
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


class InvertedResidual(torch.nn.Module):
    """MobileNetV2's block (torchvision's layout): 1x1 expand -> BN -> ReLU6 -> 3x3
    depthwise (groups = hidden) -> BN -> ReLU6 -> 1x1 project -> BN, + x when the
    stride is 1 and the widths agree."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        nn = torch.nn
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)),
            nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                          nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


def mobilenet_v2_head():
    """The first layers of MobileNetV2 (stem, two inverted residual stages) and its
    classifier: Conv2d, BatchNorm2d, ReLU6, AdaptiveAvgPool2d, Dropout, Linear."""
    nn = torch.nn
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)),
        InvertedResidual(32, 16, 1, 1), InvertedResidual(16, 24, 2, 6), InvertedResidual(24, 24, 1, 6),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.0), nn.Linear(24, 10))


def _train_step(model, x, y, lr=0.05):
    """One SGD step in training mode; returns (loss, output, {name: grad})."""
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out, y)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item(), out.detach(), grads


@pytest.mark.parametrize("builder", [lambda: models.resnet18(torch.nn, num_classes=10), mobilenet_v2_head],
                         ids=["resnet18", "mobilenet_v2"])
def test_convert_switches_every_layer_and_matches_torch(builder):
    torch.manual_seed(0)
    reference = builder().double()
    ours = copy.deepcopy(reference)
    report = pkt.convert(ours)
    assert not report.kept, str(report)
    assert len(report.replaced) == len(report), str(report)
    x = torch.randn(4, 3, 64, 64, dtype=torch.float64)
    y = torch.tensor([1, 7, 3, 0])
    for step in range(3):  # training: batch statistics, running stats updated, weights move
        loss_ref, out_ref, g_ref = _train_step(reference, x, y)
        loss_ours, out_ours, g_ours = _train_step(ours, x, y)
        _close(out_ours, out_ref, 1e-9)
        for name in g_ref:
            _close(g_ours[name], g_ref[name], 1e-8)
    for (name, a), (_, b) in zip(ours.state_dict().items(), reference.state_dict().items()):
        _close(a, b, 1e-9)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    reference.eval()
    ours.eval()
    with torch.no_grad():
        _close(ours(x), reference(x), 1e-9)


def test_resnet18_state_dict_is_torchvision_s():
    """The written-out layout has torchvision's parameter and buffer names and shapes."""
    tv = pytest.importorskip("torchvision.models")
    ours = models.resnet18(num_classes=1000)
    theirs = tv.resnet18()
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
           {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())


def test_resnet18_on_pykernels_trains():
    """Every layer a pykernels twin (models.resnet18() builds them directly): a few SGD
    steps on one small batch of 2 classes drive the loss down."""
    torch.manual_seed(0)
    model = models.resnet18(num_classes=2)
    assert all(type(m).__module__.startswith("pykernels") for m in model.modules()
               if next(m.children(), None) is None)
    x = torch.randn(8, 3, 32, 32)
    y = torch.tensor([0, 1] * 4)
    losses = [_train_step(model, x, y, lr=0.02)[0] for _ in range(8)]
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("stride", [1, 2])
def test_basic_block_compiles_fullgraph(stride):
    torch.manual_seed(0)
    block = models.BasicBlock(8, 16 if stride == 2 else 8, stride)
    reference = copy.deepcopy(block)
    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    x = torch.randn(2, 8, 10, 10, requires_grad=True)
    xr = x.detach().clone().requires_grad_()
    out = compiled(x)
    ref = reference(xr)
    _close(out, ref)
    out.square().sum().backward()
    ref.square().sum().backward()
    _close(x.grad, xr.grad)
    for (n, p), (_, q) in zip(block.named_parameters(), reference.named_parameters()):
        _close(p.grad, q.grad)
    for (n, a), (_, b) in zip(block.named_buffers(), reference.named_buffers()):
        _close(a.float(), b.float())


def test_resnet_small_has_torch_s_state_dict():
    torch.manual_seed(0)
    ours = models.resnet_small()
    torch.manual_seed(0)
    theirs = models.resnet_small(torch.nn)
    for (k, a), (j, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == j
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    x = torch.randn(3, 1, 28, 28)
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        _close(ours(x), theirs(x))
