"""pykernels.torch recurrent layers (nn.RNN / LSTM / GRU and the cells, functional.rnn_layer)
against torch.nn: every option, packed and padded, gradients, gradcheck, opcheck, compile,
no saved tensors without grad, the NumPy path, state dicts, convert(), and bad input."""
import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import pykernels
import pykernels.torch as pkt
from _helpers import count_saved, tol
from pykernels.torch import functional as F
from pykernels.torch.ops import rnn as ops

DTYPES = [torch.float32, torch.float64]
MODULES = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]


def twins(name, *args, **kwargs):
    """(torch module, pykernels module) with the same initial weights (same seed)."""
    torch.manual_seed(7)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    torch.manual_seed(7)
    ours = getattr(pkt.nn, name)(*args, **kwargs)
    for (n1, p1), (n2, p2) in zip(ref.state_dict().items(), ours.state_dict().items()):
        assert n1 == n2
        assert torch.equal(p1, p2), f"{name}: {n1} initialised differently from torch"
    return ref, ours


def flatten(out):
    """Every tensor of a module's output (PackedSequence data included), in order."""
    if isinstance(out, PackedSequence):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten(o)]
    return [out] if isinstance(out, torch.Tensor) else []


def run(module, inputs, grads_of, seed=3):
    """Outputs of module(*inputs), and the gradients of a fixed random loss of them with
    respect to `grads_of` (the module's parameters and the input tensors)."""
    out = module(*inputs)
    flat = flatten(out)
    g = torch.Generator().manual_seed(seed)
    # Non-contiguous grad_outputs: every other element of a larger buffer.
    gys = [torch.randn(*t.shape[:-1], 2 * t.shape[-1], generator=g, dtype=t.dtype)[..., ::2]
           if t.dim() else torch.randn((), generator=g, dtype=t.dtype) for t in flat]
    grads = torch.autograd.grad(flat, grads_of, gys, allow_unused=True)
    return out, flat, grads


def assert_twins(ref, ours, make_inputs, dtype):
    """make_inputs() -> (module arguments, the leaf tensors to differentiate); called
    twice from the same seed, so both modules get equal, separate inputs."""
    torch.manual_seed(11)
    inputs_ref, leaves_ref = make_inputs()
    torch.manual_seed(11)
    inputs_ours, leaves_ours = make_inputs()
    out_r, flat_r, g_r = run(ref, inputs_ref, list(ref.parameters()) + leaves_ref)
    out_o, flat_o, g_o = run(ours, inputs_ours, list(ours.parameters()) + leaves_ours)
    assert type(out_o) is type(out_r)
    for a, b in zip(flat_o, flat_r):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **tol(dtype))
    for a, b in zip(g_o, g_r):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, **tol(dtype))
    return out_o, out_r


def leaves(*args):
    """The tensors among args (and inside tuples) that require grad."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor) and a.requires_grad:
            out.append(a)
        elif isinstance(a, tuple):
            out += leaves(*a)
    return out


def hidden_for(name, layers, n, hout, h, dtype, batched=True):
    shape = (layers, n, hout) if batched else (layers, hout)
    h0 = torch.randn(shape, dtype=dtype, requires_grad=True)
    if name == "LSTM":
        cshape = (layers, n, h) if batched else (layers, h)
        return (h0, torch.randn(cshape, dtype=dtype, requires_grad=True))
    return h0


# ------------------------------------------------------------------ layers


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", MODULES)
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias,with_hx",
                         [(1, False, False, True, False), (2, True, False, True, True),
                          (2, False, True, False, True), (1, True, True, True, False),
                          (3, True, False, False, False)])
def test_layer_parity(dtype, name, kw, layers, bidirectional, batch_first, bias, with_hx):
    T, N, I, H = 5, 3, 4, 6
    ref, ours = twins(name, I, H, num_layers=layers, bidirectional=bidirectional,
                      batch_first=batch_first, bias=bias, **kw)
    ref, ours = ref.to(dtype), ours.to(dtype)
    D = 2 if bidirectional else 1

    def inputs():
        x = torch.randn((N, T, I) if batch_first else (T, N, I), dtype=dtype, requires_grad=True)
        args = [x, hidden_for(name, layers * D, N, H, H, dtype)] if with_hx else [x]
        return args, leaves(*args)
    assert_twins(ref, ours, inputs, dtype)


@pytest.mark.parametrize("name,kw", MODULES)
@pytest.mark.parametrize("enforce_sorted,with_hx,bidirectional",
                         [(True, False, False), (False, True, True), (True, True, True)])
def test_packed_sequence(name, kw, enforce_sorted, with_hx, bidirectional):
    dtype = torch.float64
    T, N, I, H = 6, 4, 3, 5
    ref, ours = twins(name, I, H, num_layers=2, bidirectional=bidirectional, **kw)
    ref, ours = ref.double(), ours.double()
    lengths = torch.tensor([6, 4, 4, 1]) if enforce_sorted else torch.tensor([2, 6, 1, 4])
    D = 2 if bidirectional else 1

    def inputs():
        x = torch.randn(T, N, I, dtype=dtype, requires_grad=True)
        packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
        hx = [hidden_for(name, 2 * D, N, H, H, dtype)] if with_hx else []
        return [packed] + hx, leaves(x, *hx)
    out, ref_out = assert_twins(ref, ours, inputs, dtype)
    assert isinstance(out[0], PackedSequence)
    assert torch.equal(out[0].batch_sizes, ref_out[0].batch_sizes)
    if not enforce_sorted:
        assert torch.equal(out[0].unsorted_indices, ref_out[0].unsorted_indices)
    padded, lens = pad_packed_sequence(out[0])
    assert torch.equal(lens, lengths)


def test_packed_runs_no_padding_rows():
    """The kernel is called with the packed rows only: y has sum(lengths) rows."""
    m = pkt.nn.GRU(3, 4).double()
    x = pack_padded_sequence(torch.randn(5, 3, 3, dtype=torch.float64), torch.tensor([5, 2, 1]))
    y, _ = m(x)
    assert y.data.shape == (8, 4)


@pytest.mark.parametrize("bidirectional,layers", [(False, 1), (True, 2)])
def test_lstm_proj_size(bidirectional, layers):
    ref, ours = twins("LSTM", 4, 6, num_layers=layers, proj_size=3, bidirectional=bidirectional)
    ref, ours = ref.double(), ours.double()
    D = 2 if bidirectional else 1

    def inputs():
        x = torch.randn(5, 2, 4, dtype=torch.float64, requires_grad=True)
        args = [x, hidden_for("LSTM", layers * D, 2, 3, 6, torch.float64)]
        return args, leaves(*args)
    assert_twins(ref, ours, inputs, torch.float64)
    assert_twins(ref, ours, lambda: ([torch.randn(5, 2, 4, dtype=torch.float64)], []),
                 torch.float64)


@pytest.mark.parametrize("name,kw", MODULES)
@pytest.mark.parametrize("with_hx", [False, True])
def test_unbatched(name, kw, with_hx):
    ref, ours = twins(name, 3, 4, num_layers=2, bidirectional=True, **kw)
    ref, ours = ref.double(), ours.double()

    def inputs():
        x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
        args = [x, hidden_for(name, 4, None, 4, 4, torch.float64, batched=False)] if with_hx else [x]
        return args, leaves(*args)
    out, _ = assert_twins(ref, ours, inputs, torch.float64)
    assert out[0].shape == (5, 8)


@pytest.mark.parametrize("name,kw", MODULES)
def test_strided_input(name, kw):
    """x a sliced view (every other feature) and a batch-first transpose: no copies needed."""
    ref, ours = twins(name, 3, 4, batch_first=True, **kw)
    ref, ours = ref.double(), ours.double()

    def inputs():
        x = torch.randn(7, 2, 6, dtype=torch.float64)[..., ::2].transpose(0, 1)
        x = x.detach().requires_grad_()
        return [x], [x]
    assert_twins(ref, ours, inputs, torch.float64)


def test_batch_first_output_contiguous():
    m = pkt.nn.LSTM(3, 4, batch_first=True)
    y, _ = m(torch.randn(2, 5, 3))
    assert y.shape == (2, 5, 4) and y.is_contiguous()


def test_dropout_between_layers():
    torch.manual_seed(0)
    m = pkt.nn.LSTM(4, 8, num_layers=3, dropout=0.5).double()
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    m.train()
    y1, _ = m(x)
    y2, _ = m(x)
    assert not torch.equal(y1, y2)  # a new mask per call
    y1.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    m.eval()
    ref = torch.nn.LSTM(4, 8, num_layers=3, dropout=0.5).double().eval()
    ref.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(x)[0], ref(x)[0])  # eval: no dropout, as torch


# ------------------------------------------------------------------- cells


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}),
                                     ("RNNCell", {"nonlinearity": "relu"})])
@pytest.mark.parametrize("batched,with_hx,bias", [(True, True, True), (True, False, False),
                                                  (False, True, True), (False, False, True)])
def test_cells(dtype, name, kw, batched, with_hx, bias):
    ref, ours = twins(name, 3, 5, bias=bias, **kw)
    ref, ours = ref.to(dtype), ours.to(dtype)

    def inputs():
        x = torch.randn((4, 3) if batched else (3,), dtype=dtype, requires_grad=True)
        if not with_hx:
            return [x], [x]
        shape = (4, 5) if batched else (5,)
        h = torch.randn(shape, dtype=dtype, requires_grad=True)
        if name == "LSTMCell":
            h = (h, torch.randn(shape, dtype=dtype, requires_grad=True))
        return [x, h], leaves(x, h)
    assert_twins(ref, ours, inputs, dtype)


def test_cell_loop_trains_like_torch():
    """A hand-written time loop over LSTMCell: gradients through every step."""
    ref, ours = twins("LSTMCell", 3, 4)
    ref, ours = ref.double(), ours.double()
    xs = torch.randn(6, 2, 3, dtype=torch.float64)
    grads = []
    for m in (ref, ours):
        h = c = torch.zeros(2, 4, dtype=torch.float64)
        for t in range(6):
            h, c = m(xs[t], (h, c))
        grads.append(torch.autograd.grad(h.sum() + c.pow(2).sum(), list(m.parameters())))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------- gradcheck, opcheck


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse,packed", [(False, False), (True, True), (True, False)])
def test_gradcheck_layer(mode, reverse, packed):
    torch.manual_seed(0)
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    I, H = 3, 2
    sizes = [3, 2, 2, 1] if packed else None
    x = torch.randn((8, I) if packed else (4, 3, I), dtype=torch.float64, requires_grad=True)
    w_ih = torch.randn(G * H, I, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(G * H, H, dtype=torch.float64, requires_grad=True)
    b_ih = torch.randn(G * H, dtype=torch.float64, requires_grad=True)
    b_hh = torch.randn(G * H, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(3, H, dtype=torch.float64, requires_grad=True) if mode == "LSTM" else None
    if mode == "RNN_RELU":  # keep the pre-activations away from relu's kink
        with torch.no_grad():
            b_ih.add_(3.0)

    def f(x, w_ih, w_hh, b_ih, b_hh, h0, *c0):
        y, h_n, c_n = F.rnn_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0[0] if c0 else None,
                                  mode=mode, reverse=reverse, batch_sizes=sizes)
        return (y, h_n) + ((c_n,) if c_n is not None else ())
    args = (x, w_ih, w_hh, b_ih, b_hh, h0) + ((c0,) if c0 is not None else ())
    assert torch.autograd.gradcheck(f, args)


def test_gradcheck_lstm_projection():
    torch.manual_seed(1)
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    w_ih = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)
    w_hr = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)

    def f(x, w_ih, w_hh, w_hr, h0):
        y, h_n, c_n = F.rnn_layer(x, w_ih, w_hh, None, None, h0, None, w_hr, mode="LSTM")
        return y, h_n, c_n
    assert torch.autograd.gradcheck(f, (x, w_ih, w_hh, w_hr, h0))


def test_gradcheck_module():
    torch.manual_seed(2)
    m = pkt.nn.GRU(2, 3, num_layers=2, bidirectional=True).double()
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: m(x)[0], (x,))


def _layer_args(mode="LSTM", packed=False, requires_grad=True):
    torch.manual_seed(0)
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    r = dict(dtype=torch.float64, requires_grad=requires_grad)
    x = torch.randn((6, 3) if packed else (3, 2, 3), **r)
    h0 = torch.randn(3 if packed else 2, 4, **r)
    c0 = torch.randn(3 if packed else 2, 4, **r) if mode == "LSTM" else None
    return (x, h0, c0, torch.randn(G * 4, 3, **r), torch.randn(G * 4, 4, **r),
            torch.randn(G * 4, **r), torch.randn(G * 4, **r), None,
            [3, 2, 1] if packed else None, pykernels._C.LSTM if mode == "LSTM" else pykernels._C.GRU,
            False, 4)


@pytest.mark.parametrize("mode,packed", [("LSTM", False), ("GRU", True)])
def test_opcheck_rnn_layer(mode, packed):
    torch.library.opcheck(ops.rnn_layer, _layer_args(mode, packed))


def test_opcheck_rnn_layer_backward():
    args = _layer_args("LSTM", requires_grad=False)
    y, h_n, c_n, reserve = ops.rnn_layer(*args)
    x, h0, c0, w_ih, w_hh = args[:5]
    torch.library.opcheck(ops.rnn_layer_backward,
                          (torch.randn_like(y), torch.randn_like(h_n), torch.randn_like(c_n), x,
                           w_ih, w_hh, None, reserve, None, pykernels._C.LSTM, False, 4,
                           True, True, True, True, True))


# ------------------------------------------------------------ compile, no_grad


class Classifier(torch.nn.Module):
    def __init__(self, nn, cell="LSTM"):
        super().__init__()
        self.rnn = getattr(nn, cell)(4, 8, num_layers=2, bidirectional=True)
        self.head = nn.Linear(16 * 2, 3)

    def forward(self, x):
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(torch.cat([h[-2], h[-1]], 1).repeat(1, 2))


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_compile_fullgraph(cell):
    """Dynamo refuses every instance of torch.nn.RNN/LSTM/GRU by type unless
    allow_rnn is set (ours subclass them, so that convert() and isinstance work);
    with it, the pykernels layers compile whole."""
    with torch._dynamo.config.patch(allow_rnn=True):
        _compile_and_compare(cell)


def test_compile_fullgraph_cells():
    """Cells need no setting: Dynamo does not refuse them."""
    torch.manual_seed(0)
    cell, head = pkt.nn.LSTMCell(3, 5).double(), pkt.nn.Linear(5, 2).double()

    def step(x, h, c):
        for t in range(x.shape[0]):
            h, c = cell(x[t], (h, c))
        return head(h)
    x, h, c = (torch.randn(4, 2, 3, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64),
               torch.zeros(2, 5, dtype=torch.float64))
    torch.testing.assert_close(torch.compile(step, fullgraph=True, backend="aot_eager")(x, h, c),
                               step(x, h, c))


def _compile_and_compare(cell):
    torch.manual_seed(0)
    model = Classifier(pkt.nn, cell).double()
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    eager = model(x)
    ge = torch.autograd.grad(eager.sum(), list(model.parameters()))
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    out = compiled(x)
    torch.testing.assert_close(out, eager)
    gc = torch.autograd.grad(out.sum(), list(model.parameters()))
    for a, b in zip(gc, ge):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("ctx", [torch.no_grad, torch.inference_mode])
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN", "LSTMCell"])
def test_nothing_saved_without_grad(ctx, name):
    m = getattr(pkt.nn, name)(3, 4)
    x = torch.randn(5, 2, 3) if "Cell" not in name else torch.randn(2, 3)
    with ctx():
        n, _ = count_saved(lambda: m(x))
    assert n == 0
    n, _ = count_saved(lambda: m(x))
    assert n > 0  # the count would see saved tensors


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_no_grad_calls_share_a_scratch_reserve(mode):
    # Without a gradient the layer runs on this thread's scratch reserve (ops.rnn
    # _scratch_reserve): the same results, bitwise, as a call that keeps its reserve,
    # for layers of different sizes one after another, and no reserve handed out.
    torch.manual_seed(3)
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    code = ops.MODES[mode]
    for t, n, i, h in [(6, 3, 5, 8), (9, 4, 8, 16), (2, 2, 16, 4)]:
        x = torch.randn(t, n, i)
        w_ih, w_hh = torch.randn(gates * h, i) * 0.3, torch.randn(gates * h, h) * 0.3
        b_ih, b_hh = torch.randn(gates * h), torch.randn(gates * h)
        args = (x, None, None, w_ih, w_hh, b_ih, b_hh, None, None, code, False, h)
        kept = ops._rnn_layer(*args)
        y, h_n, c_n, reserve = ops.rnn_layer_fast(*args)
        assert reserve.numel() == 0 and kept[3].numel() > 0
        assert torch.equal(y, kept[0]) and torch.equal(h_n, kept[1]) and torch.equal(c_n, kept[2])


def test_no_grad_scratch_is_per_thread():
    # Two threads running inference at once get their own scratch: results as alone.
    import threading
    torch.manual_seed(4)
    # (At these sizes a scratch shared by the threads fails 48-50 calls of 50 each.)
    ref, ours = twins("LSTM", 64, 128, num_layers=2)
    xs = [torch.randn(40, 16, 64) for _ in range(2)]
    with torch.no_grad():
        alone = [ours(x)[0] for x in xs]
    wrong = [0, 0]

    def run(k):
        with torch.no_grad():
            for _ in range(50):
                wrong[k] += not torch.equal(ours(xs[k])[0], alone[k])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert wrong == [0, 0]


# ------------------------------------------------------------------- NumPy


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
@pytest.mark.parametrize("packed", [False, True])
def test_numpy_path(mode, packed):
    torch.manual_seed(0)
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN_TANH": torch.nn.RNN}[mode]
    m = cls(3, 4).double()
    x = torch.randn(5, 3, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3, 2])
    inp = pack_padded_sequence(x, lengths) if packed else x
    y, h = m(inp)
    h_n = h[0] if mode == "LSTM" else h
    y = y.data if packed else y
    w = [getattr(m, n).detach().numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    xs = inp.data.detach().numpy() if packed else x.detach().numpy().transpose(1, 0, 2).copy().transpose(1, 0, 2)
    sizes = inp.batch_sizes.tolist() if packed else None
    yo, hno, cno, reserve = pykernels.rnn_layer(xs, *w, mode=mode, batch_sizes=sizes)
    np.testing.assert_allclose(yo, y.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hno, h_n[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = np.random.default_rng(0).standard_normal(yo.shape)
    g = pykernels.rnn_layer_backward(reserve, xs, w[0], w[1], dy=dy, mode=mode, batch_sizes=sizes)
    params = [m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0]
    want = torch.autograd.grad(y, params, torch.from_numpy(dy))
    for key, t in zip(("w_ih", "w_hh", "b_ih", "b_hh"), want):
        np.testing.assert_allclose(g[key], t.numpy(), rtol=1e-9, atol=1e-11)


def test_numpy_errors():
    x = np.zeros((3, 2, 4), np.float32)
    w_ih, w_hh = np.zeros((16, 4), np.float32), np.zeros((16, 4), np.float32)
    with pytest.raises(ValueError, match="mode"):
        pykernels.rnn_layer(x, w_ih, w_hh, mode="lstm")
    with pytest.raises(pykernels.ShapeError, match="h0"):
        pykernels.rnn_layer(x, w_ih, w_hh, h0=np.zeros((2, 5), np.float32))
    with pytest.raises(pykernels.KernelError, match="must not increase"):
        pykernels.rnn_layer(np.zeros((5, 4), np.float32), w_ih, w_hh, batch_sizes=[2, 3])


# --------------------------------------------------- state dicts, convert


@pytest.mark.parametrize("name,kw", MODULES + [("LSTM", {"proj_size": 2})])
def test_state_dict_both_ways(name, kw):
    ref, ours = twins(name, 3, 4, num_layers=2, bidirectional=True, **kw)
    assert list(ref.state_dict()) == list(ours.state_dict())
    other = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, **kw)
    ours.load_state_dict(other.state_dict())
    other.load_state_dict(ours.state_dict())
    assert "weight_hh_l1_reverse" in ours.state_dict()


def test_flatten_parameters_is_a_no_op():
    m = pkt.nn.LSTM(3, 4)
    before = [p.data_ptr() for p in m.parameters()]
    m.flatten_parameters()
    assert [p.data_ptr() for p in m.parameters()] == before


def test_convert_switches_recurrent_layers():
    model = torch.nn.Sequential(torch.nn.LSTM(3, 4), torch.nn.GRU(4, 4), torch.nn.RNN(4, 4),
                                torch.nn.LSTMCell(3, 4), torch.nn.GRUCell(3, 4),
                                torch.nn.RNNCell(3, 4))
    report = pkt.convert(model)
    assert [c.replaced for c in report] == [True] * 6, str(report)
    assert type(model[0]) is pkt.nn.LSTM and type(model[5]) is pkt.nn.RNNCell


# ---------------------------------------------------------------- bad input


def test_wrong_hidden_size_is_torch_error():
    m = pkt.nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with pytest.raises(RuntimeError, match="Expected hidden"):
        m(x, (torch.zeros(1, 2, 5), torch.zeros(1, 2, 4)))
    with pytest.raises(RuntimeError, match="input.size"):
        m(torch.randn(5, 2, 7))
    with pytest.raises(ValueError, match="2D or 3D"):
        m(torch.randn(5, 2, 3, 1))


def test_non_monotonic_batch_sizes():
    w_ih, w_hh = torch.randn(12, 3), torch.randn(12, 3)
    with pytest.raises(pykernels.KernelError, match="must not increase"):
        F.rnn_layer(torch.randn(5, 3), w_ih, w_hh, mode="GRU", batch_sizes=[2, 3])
    with pytest.raises(pykernels.KernelError, match="sum"):
        F.rnn_layer(torch.randn(6, 3), w_ih, w_hh, mode="GRU", batch_sizes=[3, 2])
    with pytest.raises(ValueError, match="mode"):
        F.rnn_layer(torch.randn(2, 1, 3), w_ih, w_hh, mode="gru")


def test_wrong_weight_shapes():
    with pytest.raises(pykernels.ShapeError, match="w_hh"):
        F.rnn_layer(torch.randn(2, 1, 3), torch.randn(16, 3), torch.randn(16, 5))
    with pytest.raises(pykernels.KernelError, match="dtype"):
        F.rnn_layer(torch.randn(2, 1, 3, dtype=torch.float64), torch.randn(16, 3), torch.randn(16, 4))


def test_cell_errors():
    cell = pkt.nn.GRUCell(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        cell(torch.randn(2, 5))
    with pytest.raises(RuntimeError, match="hidden"):
        cell(torch.randn(2, 3), torch.randn(2, 7))
    with pytest.raises(ValueError, match="1D or 2D"):
        cell(torch.randn(1, 2, 3))


@pytest.mark.skipif(not (torch.cuda.is_available() and pykernels.has_cuda()),
                    reason="needs a GPU and a CUDA build")
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_cuda_matches_cpu(name):
    ref, ours = twins(name, 3, 5, num_layers=2, bidirectional=True)
    ours = ours.cuda()
    x = torch.randn(4, 2, 3)
    y, _ = ours(x.cuda())
    torch.testing.assert_close(y.cpu(), ref(x)[0], rtol=1e-4, atol=1e-5)
    y.sum().backward()
    ref(x)[0].sum().backward()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad.cpu(), b.grad, rtol=1e-4, atol=1e-4)


class WordClassifier(torch.nn.Module):
    """Embedding -> 2-layer bidirectional recurrent layer -> Linear, as the demo."""

    def __init__(self, cell):
        super().__init__()
        self.embed = torch.nn.Embedding(30, 8, padding_idx=0)
        self.rnn = getattr(torch.nn, cell)(8, 12, num_layers=2, bidirectional=True, batch_first=True)
        self.head = torch.nn.Linear(24, 5)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(torch.cat([h[-2], h[-1]], 1))


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_convert_word_classifier_matches_torch(cell):
    """convert() switches every layer of an Embedding + LSTM/GRU classifier; outputs and
    gradients stay torch's."""
    torch.manual_seed(0)
    ref = WordClassifier(cell).double()
    ours = WordClassifier(cell).double()
    ours.load_state_dict(ref.state_dict())
    report = pkt.convert(ours)
    assert len(report.replaced) == len(report) == 3, str(report)
    ids = torch.randint(1, 30, (4, 7))
    lengths = torch.tensor([7, 3, 5, 1])
    for i, n in enumerate(lengths):
        ids[i, n:] = 0
    target = torch.tensor([0, 4, 2, 1])
    losses = []
    for m in (ref, ours):
        loss = torch.nn.functional.cross_entropy(m(ids, lengths), target)
        grads = torch.autograd.grad(loss, list(m.parameters()))
        losses.append((loss, grads))
    torch.testing.assert_close(losses[1][0], losses[0][0])
    for a, b in zip(losses[1][1], losses[0][1]):
        torch.testing.assert_close(a, b)
