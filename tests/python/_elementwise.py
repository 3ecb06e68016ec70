"""The pytest suite of an element-wise op written with the scaffold
(tests/python/test_<op>.py), run against a reference (torch's own function
where torch has one):

    SUITE = ElementwiseSuite("softplus", reference=torch.nn.functional.softplus)
    test_parity = SUITE.test_parity          # ...one line per check

Checks, each a test of the op's file:
  parity            functional, nn module, autograd Function vs the reference:
                    random shapes (0-d to 4-d, size 0), contiguous/transposed/sliced
                    inputs, non-contiguous grad_output, float32 and float64,
                    default and other parameter values
  gradcheck         torch.autograd.gradcheck in float64 (functional and Function)
  opcheck           torch.library.opcheck on both custom ops
  compile           torch.compile(fullgraph=True) of forward + backward vs eager
  no_grad           nothing saved under no_grad / inference_mode, what is needed otherwise
  numpy             pykernels.<op> / <op>_backward on arrays (out=, in place) vs torch
  bad_scalars       NaN, inf and out-of-domain parameters raise KernelError naming them
  special_values    NaN, +-inf, +-0, tiny and large inputs: forward and backward as torch
  inplace           where torch's function takes inplace=: the input is overwritten and returned
  bad_tensors       int64 / float16 tensors: TypeError; mismatched shapes: ValueError
  module            nn module: same constructor and repr as torch's where torch has one
  cuda              CUDA vs CPU (skips without a GPU and a CUDA build)
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pykernels
from _helpers import LAYOUTS, count_saved, strided
from pykernels.torch import _registry
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch import nn as knn

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=2e-6, atol=2e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}


class ElementwiseSuite:
    def __init__(self, name: str, reference, *, range: float = 4.0, tol=None, bad_scalars=None):
        """``reference(x, *params)`` on torch tensors (autograd must differentiate it);
        ``bad_scalars``: {param: [values the op must refuse]} beyond NaN and inf."""
        self.name = name
        self.entry = _registry.entries[name]
        self.spec = self.entry.elementwise
        self.reference = reference
        self.range = range
        self.tol = tol or TOL
        self.bad = bad_scalars or {}
        self.params = tuple(self.spec.params.values())

    # -- helpers
    def x(self, shape, dtype, layout, requires_grad=False):
        t = strided(shape, dtype, layout).detach()
        t.uniform_(-self.range, self.range)
        return t.requires_grad_(requires_grad)

    def other_params(self):
        """The defaults, and each float/int parameter scaled alone (kept if the op accepts it)."""
        out = [self.params]
        for i, v in enumerate(self.params):
            if isinstance(v, bool):
                alts = [not v]
            elif isinstance(v, int):
                alts = [v + 1]
            else:
                alts = [v * 0.5 if v else 0.25, v * 2 if v else 1.5]
            for a in alts:
                p = list(self.params)
                p[i] = type(v)(a)
                if not any(p[i] == b for b in self.bad.get(list(self.spec.params)[i], [])):
                    out.append(tuple(p))
        return out

    # -- the checks
    def test_parity(self):
        gen = torch.Generator().manual_seed(0)
        for params in self.other_params():
            for dtype in DTYPES:
                for layout in LAYOUTS:
                    for ndim in (0, 1, 2, 4):
                        shape = tuple(torch.randint(1, 6, (ndim,), generator=gen).tolist())
                        if ndim == 4:
                            shape = shape[:-1] + (0,) if layout == "contiguous" else shape
                        x = self.x(shape, dtype, layout, requires_grad=True)
                        gy = strided(shape, dtype, "transposed" if ndim >= 2 else "sliced")
                        want = self.reference(x, *params)
                        (gwant,) = torch.autograd.grad(want, x, gy)
                        calls = {
                            "functional": lambda: getattr(F, self.name)(x, *params),
                            "Function": lambda: self.entry.function.apply(x, *params),
                            "module": lambda: self.entry.module(*params)(x),
                        }
                        for what, fn in calls.items():
                            y = fn()
                            msg = f"{what} {params} {dtype} {layout} {shape}"
                            torch.testing.assert_close(y, want, **self.tol[dtype], msg=msg)
                            (g,) = torch.autograd.grad(y, x, gy)
                            torch.testing.assert_close(g, gwant, **self.tol[dtype], msg=msg)

    def test_gradcheck(self):
        for params in self.other_params():
            x = self.x((3, 4), torch.float64, "transposed", requires_grad=True)
            assert torch.autograd.gradcheck(lambda t: getattr(F, self.name)(t, *params), (x,))
            assert torch.autograd.gradcheck(lambda t: self.entry.function.apply(t, *params), (x,))

    def test_opcheck(self):
        for dtype in DTYPES:
            x = self.x((3, 4), dtype, "transposed", requires_grad=True)
            torch.library.opcheck(self.spec.forward, (x, *self.params))
            saved = self.x((3, 4), dtype, "sliced")
            if self.spec.saves == "output":
                saved = self.spec.forward(saved, *self.params)
            torch.library.opcheck(self.spec.backward, (strided((3, 4), dtype, "sliced"), saved, *self.params))

    def test_compile(self):
        """torch.compile(fullgraph=True), inductor: forward and the compiled backward."""
        torch._dynamo.reset()
        fn = getattr(F, self.name)

        def f(x):
            return (fn(x * 2, *self.params) * 3).sum()

        results = []
        for run in (f, torch.compile(f, fullgraph=True)):
            x = torch.linspace(-self.range, self.range, 30).reshape(6, 5).requires_grad_()
            loss = run(x)
            loss.backward()
            results.append((loss.detach(), x.grad))
        torch.testing.assert_close(results[1][0], results[0][0])
        torch.testing.assert_close(results[1][1], results[0][1])

    def test_no_grad(self):
        fn = getattr(F, self.name)
        x = self.x((5, 3), torch.float32, "contiguous", requires_grad=True)
        n, out = count_saved(lambda: fn(x, *self.params))
        assert n == 1 and out.grad_fn is not None  # the saved x or output: the check below can fail
        for ctx in (torch.no_grad, torch.inference_mode):
            with ctx():
                n, out = count_saved(lambda: fn(x, *self.params))
            assert n == 0 and out.grad_fn is None and not out.requires_grad

    def test_numpy(self):
        fwd = getattr(pykernels, self.name)
        bwd = getattr(pykernels, self.name + "_backward")
        for dtype in (np.float32, np.float64):
            tdtype = torch.float32 if dtype == np.float32 else torch.float64
            x = self.x((4, 6), tdtype, "contiguous")
            a = x.numpy().T  # a transposed view
            want = self.reference(x.T, *self.params)
            np.testing.assert_allclose(fwd(a, *self.params), want.numpy(), **self.tol[tdtype])
            b = a.copy()
            assert fwd(b, *self.params, out=b) is b  # in place
            np.testing.assert_allclose(b, want.numpy(), **self.tol[tdtype])
            xt = x.T.clone().requires_grad_()
            gy = torch.randn(xt.shape, dtype=tdtype)
            y = self.reference(xt, *self.params)
            (g,) = torch.autograd.grad(y, xt, gy)
            saved = a if self.spec.saves == "x" else y.detach().numpy()
            np.testing.assert_allclose(bwd(gy.numpy(), saved, *self.params), g.numpy(), **self.tol[tdtype])

    def test_bad_scalars(self):
        fn = getattr(F, self.name)
        x = torch.randn(3, 4)
        names = list(self.spec.params)
        for i, name in enumerate(names):
            default = self.params[i]
            bad = list(self.bad.get(name, []))
            if isinstance(default, float):
                bad += [math.nan, math.inf, -math.inf]
            for value in bad:
                p = list(self.params)
                p[i] = value
                with pytest.raises(pykernels.KernelError, match=f"kn_{self.name}_forward: {name}"):
                    fn(x, *p)
                with pytest.raises(pykernels.KernelError, match=f"kn_{self.name}_forward: {name}"):
                    getattr(pykernels, self.name)(x.numpy(), *p)

    def test_special_values(self):
        """NaN, +-inf, +-0, tiny and large |x|: forward and backward (from autograd) as the
        reference gives them, in float32 and float64."""
        values = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6,
                  30.0, -30.0, 100.0, -100.0]
        fn = getattr(F, self.name)
        for dtype in DTYPES:
            x = torch.tensor(values, dtype=dtype, requires_grad=True)
            y, want = fn(x, *self.params), self.reference(x, *self.params)
            torch.testing.assert_close(y, want, equal_nan=True, **self.tol[dtype],
                                       msg=lambda m: f"forward at {values}: {m}")
            gy = torch.ones_like(y)
            (g,) = torch.autograd.grad(y, x, gy)
            (gwant,) = torch.autograd.grad(want, x, gy)
            torch.testing.assert_close(g, gwant, equal_nan=True, **self.tol[dtype],
                                       msg=lambda m: f"backward at {values}: {m}")

    def test_inplace(self):
        import inspect
        fn = getattr(F, self.name)
        if "inplace" not in inspect.signature(fn).parameters:
            pytest.skip(f"functional.{self.name} has no inplace argument (torch's has none)")
        x = self.x((4, 5), torch.float64, "transposed")
        want = self.reference(x, *self.params)
        out = fn(x, *self.params, inplace=True)
        assert out is x
        torch.testing.assert_close(x, want, **self.tol[torch.float64])
        m = self.entry.module(*self.params, inplace=True) if "inplace" in inspect.signature(
            self.entry.module).parameters else None
        if m is not None:
            x2 = self.x((3, 2), torch.float64, "contiguous")
            want2 = self.reference(x2, *self.params)
            assert m(x2) is x2
            torch.testing.assert_close(x2, want2, **self.tol[torch.float64])

    def test_bad_tensors(self):
        fn = getattr(F, self.name)
        for dtype in (torch.int64, torch.float16):
            with pytest.raises(TypeError):
                fn(torch.ones(3, dtype=dtype), *self.params)
        with pytest.raises(ValueError):
            self.spec.backward(torch.randn(3, 4), torch.randn(4, 3), *self.params)
        with pytest.raises(ValueError):
            getattr(pykernels, self.name)(np.ones(3, np.float32), *self.params, out=np.ones(4, np.float32))

    def test_module(self):
        m = self.entry.module()
        base = type(m).__bases__[0]
        if base is not torch.nn.Module:  # a twin of torch's: same arguments and repr
            assert repr(m) == repr(base())
            assert issubclass(self.entry.module, base)
        x = self.x((2, 3), torch.float64, "contiguous")
        torch.testing.assert_close(m(x), self.reference(x, *self.params))

    def test_cuda(self):
        if not (torch.cuda.is_available() and pykernels.has_cuda()):
            pytest.skip("needs a CUDA device and a CUDA build of libkernels")
        fn = getattr(F, self.name)
        for dtype in DTYPES:
            x = self.x((37, 29), dtype, "transposed", requires_grad=True)
            xc = x.detach().cuda().requires_grad_()
            gy = torch.randn(37, 29, dtype=dtype)
            y, yc = fn(x, *self.params), fn(xc, *self.params)
            torch.testing.assert_close(yc.cpu(), y, **self.tol[dtype])
            (g,) = torch.autograd.grad(y, x, gy)
            (gc,) = torch.autograd.grad(yc, xc, gy.cuda())
            torch.testing.assert_close(gc.cpu(), g, **self.tol[dtype])

    def tests(self, namespace: dict) -> None:
        """Define test_<check> in the caller's module for every check above."""
        for name in dir(self):
            if name.startswith("test_"):
                namespace[name] = self._as_test(name)

    def _as_test(self, name: str):
        method = getattr(self, name)

        def test():  # a plain function: pytest would take a bound method's self for a fixture
            method()

        test.__name__ = test.__qualname__ = name
        test.__doc__ = method.__doc__
        return test
