"""pykernels.torch.convert: in-place switch of torch.nn layers to their pykernels twins,
the models module, and the per-operator profile."""
import copy

import pytest
import torch

import pykernels.torch as pkt
from pykernels.torch import models
from pykernels.torch.conversion import twins


class Residual(torch.nn.Module):
    """A user module with children and its own forward (a container, not a layer)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 6)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return x + self.act(self.fc(x))


class MyLinear(torch.nn.Linear):
    """A subclass of a covered torch class: its forward may differ, so it stays."""

    def forward(self, x):
        return super().forward(x) * 2


def small_model():
    return torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), Residual(),
                               torch.nn.Softsign(), MyLinear(6, 3))


def test_twins_cover_every_pykernels_nn_class():
    table = twins()
    for name in pkt.nn.__all__:
        cls = getattr(pkt.nn, name)
        if hasattr(torch.nn, name):
            assert table[getattr(torch.nn, name)] is cls
        elif name == "NonDynamicallyQuantizableLinear":  # MultiheadAttention's out_proj class
            from torch.nn.modules.linear import NonDynamicallyQuantizableLinear
            assert table[NonDynamicallyQuantizableLinear] is cls
        else:  # a layer torch.nn does not have (GraphConv): nothing to convert from
            assert cls not in table.values()
    assert pkt.nn.GraphConv not in table.values()
    assert torch.nn.Linear in table and torch.nn.BatchNorm1d in table and torch.nn.LayerNorm in table
    assert torch.nn.GroupNorm in table and torch.nn.InstanceNorm2d not in table
    for cls in (torch.nn.MultiheadAttention, torch.nn.TransformerEncoderLayer,
                torch.nn.TransformerDecoderLayer, torch.nn.TransformerEncoder):
        assert cls in table
    # containers whose forward only calls their children need no twin
    assert torch.nn.Transformer not in table and torch.nn.TransformerDecoder not in table


class MyEncoderLayer(torch.nn.TransformerEncoderLayer):
    """A subclass of a twinned container: its forward (torch's, with the fast path) stays."""


def test_convert_switches_containers_with_twins_and_reports_them():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.MultiheadAttention(4, 2), MyEncoderLayer(4, 2, 8))
    report = pkt.convert(model)
    rows = {c.name: (c.layer, c.replaced) for c in report}
    assert rows["0"] == ("MultiheadAttention", True)
    assert rows["0.out_proj"] == ("NonDynamicallyQuantizableLinear", True)
    assert rows["1"] == ("MyEncoderLayer", False)
    assert "subclass of torch.nn.TransformerEncoderLayer" in report.kept[0].reason
    assert type(model[0]) is pkt.nn.MultiheadAttention
    assert type(model[0].out_proj) is pkt.nn.NonDynamicallyQuantizableLinear
    assert type(model[1]) is MyEncoderLayer and type(model[1].linear1) is pkt.nn.Linear
    assert "" not in rows  # the Sequential itself is a container without a twin


def test_convert_in_place_keeps_parameters_and_outputs():
    torch.manual_seed(0)
    model = small_model()
    reference = copy.deepcopy(model)
    params_before = [id(p) for p in model.parameters()]
    x = torch.randn(4, 5)

    report = pkt.convert(model)

    assert [id(p) for p in model.parameters()] == params_before
    assert [(c.name, c.layer, c.replaced) for c in report] == [
        ("0", "Linear", True), ("1", "ReLU", True), ("2.fc", "Linear", True),
        ("2.act", "ReLU", True), ("3", "Softsign", False), ("4", "MyLinear", False)]
    assert report.kept[0].reason == "no pykernels twin"
    assert "subclass of torch.nn.Linear" in report.kept[1].reason
    assert type(model[0]) is pkt.nn.Linear and type(model[2].act) is pkt.nn.ReLU
    assert type(model[4]) is MyLinear
    torch.testing.assert_close(model(x), reference(x))
    # state_dicts are interchangeable with the unconverted model
    assert model.state_dict().keys() == reference.state_dict().keys()
    reference.load_state_dict(model.state_dict())
    text = str(report)
    assert "4 of 6 layers on pykernels" in text and "Softsign" in text


def test_optimizer_made_before_conversion_still_trains_the_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    reference = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt_ref = torch.optim.SGD(reference.parameters(), lr=0.1)
    pkt.convert(model)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    for m, o in ((model, opt), (reference, opt_ref)):
        o.zero_grad()
        torch.nn.functional.mse_loss(m(x), y).backward()
        o.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def test_unsupported_dtype_is_left_on_torch():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2).to(torch.float16), torch.nn.Linear(2, 2))
    report = pkt.convert(model)
    assert [c.replaced for c in report] == [False, True]
    assert "float16" in report[0].reason
    assert type(model[0]) is torch.nn.Linear


def test_converting_twice_and_a_bare_layer():
    layer = torch.nn.Linear(3, 2)
    assert [c.replaced for c in pkt.convert(layer)] == [True]
    assert type(layer) is pkt.nn.Linear
    assert [c.replaced for c in pkt.convert(layer)] == [True]  # already pykernels


def test_convert_rejects_non_modules():
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        pkt.convert(lambda x: x)


def test_lenet_converts_completely_and_matches_torch():
    torch.manual_seed(0)
    model = models.lenet5(torch.nn)
    reference = copy.deepcopy(model)
    report = pkt.convert(model)
    assert report.kept == [], str(report)
    x = torch.randn(3, 1, 28, 28)
    labels = torch.tensor([1, 2, 3])
    ours = torch.nn.functional.cross_entropy(model(x), labels)
    theirs = torch.nn.functional.cross_entropy(reference(x), labels)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(ours, list(model.parameters()))
    ref_grads = torch.autograd.grad(theirs, list(reference.parameters()))
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("builder", [models.lenet5, models.mlp])
def test_models_have_torch_identical_state_dicts(builder):
    torch.manual_seed(0)
    ours = builder()
    torch.manual_seed(0)
    theirs = builder(torch.nn)
    for (k, a), (k2, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # same seed, same init
    assert all(type(m).__module__.startswith("pykernels") for m in ours)


def test_profile_table_runs():
    from pykernels.torch import profile
    rows = profile.profile("lenet5", batch_size=4, repeat=2)
    names = [r[0] for r in rows]
    assert any(n.startswith("conv2d") for n in names)
    assert rows[-1][0].startswith("whole step")
    assert all(a > 0 and b > 0 for _, _, a, b in rows)
    table = profile.format_table(rows)
    assert "ratio" in table.splitlines()[0] and len(table.splitlines()) == len(rows) + 2
