"""PyTorch's own ModuleInfo inputs (torch.testing._internal.common_modules.module_db)
through every pykernels.torch.nn twin (and torch.nn.Transformer, a container of twins):
each input torch's module tests use is run on torch's module and on a converted copy
(same parameters and buffers), in training and in eval mode, in float64; outputs, the gradients of every input and parameter, and the
buffers after the step (BatchNorm's running statistics) must agree.

An input pykernels refuses (a documented exception: KernelError, NotImplementedError,
ValueError, TypeError) is allowed and listed with -rs; a mismatch or any other exception
fails. Every module class must run at least one of its inputs."""
import copy

import pytest

torch = pytest.importorskip("torch")
common_modules = pytest.importorskip("torch.testing._internal.common_modules")

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch.conversion import twins  # noqa: E402

TWINS = twins()
# Containers without a twin of their own (their forward only calls their children), whose
# every layer convert() switches: run as a whole, as torch's module tests run them.
CONTAINERS = (torch.nn.Transformer,)
INFOS = [m for m in common_modules.module_db
         if m.module_cls in TWINS or m.module_cls in CONTAINERS]
REFUSALS = (pykernels.KernelError, NotImplementedError, ValueError, TypeError)


def _tensors(obj):
    """The tensors in a (nested) output or input, in order (PackedSequence included)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        return [obj.data]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _clone(obj):
    """A deep copy of the forward inputs whose tensors are fresh leaves (same values,
    same requires_grad), so that the two runs do not share autograd graphs."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().clone()
        return t.requires_grad_(obj.requires_grad)
    if isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        return torch.nn.utils.rnn.PackedSequence(_clone(obj.data), obj.batch_sizes,
                                                 obj.sorted_indices, obj.unsorted_indices)
    if isinstance(obj, tuple):
        return tuple(_clone(o) for o in obj)
    if isinstance(obj, list):
        return [_clone(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    return obj


def _leaves(obj):
    return [t for t in _tensors(obj) if t.is_leaf and t.requires_grad]


def _run(module, args, kwargs, seed):
    """Forward, then backward of a fixed random weighting of every floating output;
    returns (outputs, input grads, parameter grads, buffers)."""
    out = module(*args, **kwargs)
    outs = [t for t in _tensors(out) if t.is_floating_point()]
    gen = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum()
               for o in outs if o.requires_grad)
    inputs = _leaves((args, kwargs))
    params = [p for p in module.parameters() if p.requires_grad]
    grads = []
    if torch.is_tensor(loss) and loss.requires_grad and (inputs or params):
        grads = torch.autograd.grad(loss, inputs + params, allow_unused=True)
    return ([o.detach() for o in outs], grads,
            [b.detach().clone() for b in module.buffers()])


def _close(a, b, what):
    for i, (x, y) in enumerate(zip(a, b)):
        if x is None or y is None:  # an unused input: None on one side, zeros on the other
            other = y if x is None else x
            assert other is None or not other.any(), f"{what}[{i}]: None against nonzero"
            continue
        torch.testing.assert_close(x.to(y.dtype), y, rtol=1e-7, atol=1e-7, equal_nan=True,
                                   msg=lambda m: f"{what}[{i}]: {m}")
    assert len(a) == len(b), what


@pytest.mark.parametrize("info", INFOS, ids=[m.name for m in INFOS])
def test_module_info_inputs_match_torch(info):
    ran, refused = 0, []
    for training in ((True, False) if info.train_and_eval_differ else (True,)):
        inputs = info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                         requires_grad=True, training=training)
        for n, mi in enumerate(inputs):
            if mi.forward_input is None:
                continue
            c = mi.constructor_input
            torch.manual_seed(n)
            try:
                reference = info.module_cls(*c.args, **c.kwargs).to(torch.float64)
            except Exception:  # noqa: BLE001 -- torch's own constructor refuses it
                continue
            ours = copy.deepcopy(reference)
            report = pkt.convert(ours)
            assert not report.kept, f"{mi.desc}: {report}"
            reference.train(training)
            ours.train(training)
            fa, fk = mi.forward_input.args, mi.forward_input.kwargs
            try:
                expected = _run(reference, _clone(fa), _clone(fk), n)
            except Exception:  # noqa: BLE001 -- an input torch itself cannot run backward on
                continue
            try:
                got = _run(ours, _clone(fa), _clone(fk), n)
            except REFUSALS as e:
                refused.append(f"{'train' if training else 'eval'} {mi.desc or n}: "
                               f"{type(e).__name__}: {str(e).splitlines()[0][:120]}")
                continue
            where = f"{info.name} ({'train' if training else 'eval'}, input {n} {mi.desc!r})"
            _close(got[0], expected[0], f"{where} output")
            _close(got[1], expected[1], f"{where} grad")
            _close(got[2], expected[2], f"{where} buffer")
            ran += 1
    assert ran > 0, f"{info.name}: no input ran; refused: {refused}"
    if refused:
        print(f"{info.name}: {ran} inputs matched torch, {len(refused)} refused:\n  " +
              "\n  ".join(refused))
