"""``pykernels.torch.Graph``: a directed graph in CSR form for the gSpMM operators.

Rows are DESTINATION nodes: the edges into node v are ``k`` in
``indptr[v] .. indptr[v + 1] - 1``, and ``indices[k]`` is the source of edge k (the
layout of a torch sparse CSR adjacency ``A[dst, src]``). A Graph is checked once, when
it is built (every later gSpMM call then skips the library's O(E) check), and it caches
its transpose (the CSC form that the backward pass walks), built on first use through
``torch.ops.pykernels.csr_transpose``.

    g = Graph(indptr, indices, num_src=None)             # CSR; num_src defaults to num_dst
    g = Graph.from_edges(src, dst, num_nodes=None)       # edge list (sorted into CSR here)
    g = Graph.from_sparse(adj)                           # torch sparse CSR or COO, A[dst, src]
    pykernels.torch.functional.gspmm(g, x, 'u_mul_e', 'mean', edge_values=w)

Edge values passed to ``functional.gspmm`` are in the graph's EDGE order: the input
order for ``from_edges`` (the Graph keeps the permutation ``edge_perm`` into CSR order
and applies it, differentiably), the CSR order otherwise (``adj.values()``, or
``adj.coalesce().values()`` for COO). Index tensors are int64 by default; int32 is
accepted (both arrays of one graph share a dtype). The graph's tensors must not be
modified in place after construction (they were checked once).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from .. import _shape_error
from .ops import gspmm as _ops

__all__ = ["Graph"]

_INDEX_DTYPES = (torch.int32, torch.int64)


def _index_tensor(t, name: str, op: str, dtype: Optional[torch.dtype] = None) -> Tensor:
    """A 1-D int32/int64 tensor (sequences are converted to int64)."""
    if not isinstance(t, Tensor):
        try:
            t = torch.as_tensor(t, dtype=dtype or torch.int64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{op}: {name}: expected a 1-D integer tensor, got "
                            f"{type(t).__name__}") from e
    if t.dtype not in _INDEX_DTYPES:
        raise TypeError(f"{op}: {name}: expected dtype torch.int32 or torch.int64, got {t.dtype}")
    if t.layout != torch.strided:
        raise TypeError(f"{op}: {name}: expected a strided (dense) tensor, got {t.layout}")
    if t.dim() != 1:
        raise _shape_error(f"{op}: {name}: expected 1 dim, got shape {tuple(t.shape)}")
    return t


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"expected a non-negative int, got {n!r}")
    return n


class Graph:
    """A directed graph with ``num_src`` source and ``num_dst`` destination nodes, in CSR
    form (rows = destinations). See the module docstring.

    Args:
        indptr: (num_dst + 1,) int32/int64, indptr[0] = 0, non-decreasing,
            indptr[-1] = number of edges E.
        indices: (E,) the source of each edge, in [0, num_src); indptr's dtype and device.
            Duplicates are separate edges.
        num_src: the number of source nodes; None = num_dst (a graph on one node set).

    Raises TypeError for a non-integer dtype or mixed dtypes/devices, pykernels.ShapeError
    (a ValueError) for arrays that are not 1-D, ValueError for a malformed indptr or an
    index out of range.
    """

    def __init__(self, indptr: Tensor, indices: Tensor, num_src: Optional[int] = None, *,
                 edge_perm: Optional[Tensor] = None, _checked: bool = False):
        op = "pykernels.torch.Graph"
        indptr = _index_tensor(indptr, "indptr", op)
        indices = _index_tensor(indices, "indices", op, indptr.dtype)
        if indices.dtype != indptr.dtype:
            raise TypeError(f"{op}: indices: expected indptr's dtype {indptr.dtype}, got "
                            f"{indices.dtype}")
        if indices.device != indptr.device:
            raise ValueError(f"{op}: indices: expected indptr's device {indptr.device}, got "
                             f"{indices.device}")
        if indptr.shape[0] < 1:
            raise _shape_error(f"{op}: indptr: expected shape (num_dst + 1,), got (0,)")
        num_dst = indptr.shape[0] - 1
        try:
            num_src = num_dst if num_src is None else _count(num_src)
        except ValueError as e:
            raise ValueError(f"{op}: num_src: {e}") from None
        e = indices.shape[0]
        if edge_perm is not None:
            edge_perm = _index_tensor(edge_perm, "edge_perm", op)
            if edge_perm.shape[0] != e:
                raise _shape_error(f"{op}: edge_perm: expected shape ({e},), got "
                                   f"{tuple(edge_perm.shape)}")
        if not _checked:
            self._check(indptr, indices, num_src, edge_perm, op)
        self.indptr, self.indices = indptr, indices
        self.num_src, self.num_dst = int(num_src), int(num_dst)
        #: CSR position k holds the edge ``edge_perm[k]`` of the graph's edge order
        #: (None: the edge order is the CSR order).
        self.edge_perm = edge_perm
        self._transpose = None

    @staticmethod
    def _check(indptr: Tensor, indices: Tensor, num_src: int, edge_perm, op: str) -> None:
        """The O(E) check done once per graph (one host sync on CUDA)."""
        e = indices.shape[0]
        if int(indptr[0]) != 0:
            raise ValueError(f"{op}: indptr: must start at 0, got {int(indptr[0])}")
        if int(indptr[-1]) != e:
            raise ValueError(f"{op}: indptr: must end at the number of edges {e}, got "
                             f"{int(indptr[-1])}")
        if indptr.shape[0] > 1 and bool((indptr[1:] < indptr[:-1]).any()):
            raise ValueError(f"{op}: indptr: must be non-decreasing")
        if e:
            lo, hi = int(indices.min()), int(indices.max())
            if lo < 0 or hi >= num_src:
                bad = lo if lo < 0 else hi
                raise ValueError(f"{op}: indices: source index {bad} is out of range "
                                 f"[0, {num_src})")
        if edge_perm is not None and e:
            seen = torch.zeros(e, dtype=torch.bool, device=edge_perm.device)
            if int(edge_perm.min()) < 0 or int(edge_perm.max()) >= e:
                raise ValueError(f"{op}: edge_perm: must be a permutation of 0..{e - 1}")
            seen[edge_perm] = True
            if not bool(seen.all()):
                raise ValueError(f"{op}: edge_perm: must be a permutation of 0..{e - 1}")

    # ------------------------------------------------------------ builders

    @classmethod
    def from_edges(cls, src, dst, num_nodes: Union[None, int, Sequence[int]] = None) -> "Graph":
        """The graph of the edges ``src[i] -> dst[i]`` (1-D int32/int64 tensors or
        sequences, one length). ``num_nodes``: None = ``max(src, dst) + 1`` nodes on one
        node set, an int for one node set, or ``(num_src, num_dst)``. The edges are sorted
        by destination (stably: parallel edges keep their order) into CSR; the Graph keeps
        the permutation, and edge values given to ``functional.gspmm`` in this edge-list
        order are permuted into CSR order there (differentiably)."""
        op = "pykernels.torch.Graph.from_edges"
        src = _index_tensor(src, "src", op)
        dst = _index_tensor(dst, "dst", op, src.dtype)
        if src.shape != dst.shape:
            raise _shape_error(f"{op}: dst: expected the shape of src {tuple(src.shape)}, got "
                               f"{tuple(dst.shape)}")
        if dst.device != src.device:
            raise ValueError(f"{op}: dst: expected src's device {src.device}, got {dst.device}")
        dtype = src.dtype if src.dtype == dst.dtype else torch.int64
        e = src.shape[0]
        if num_nodes is None:
            n = 0 if e == 0 else int(torch.maximum(src.max(), dst.max())) + 1
            num_src = num_dst = n
        elif isinstance(num_nodes, int) and not isinstance(num_nodes, bool):
            num_src = num_dst = num_nodes
        else:
            try:
                num_src, num_dst = num_nodes
            except (TypeError, ValueError):
                raise ValueError(f"{op}: num_nodes: expected None, an int or (num_src, "
                                 f"num_dst), got {num_nodes!r}") from None
        for name, n in (("num_src", num_src), ("num_dst", num_dst)):
            try:
                _count(n)
            except ValueError as err:
                raise ValueError(f"{op}: {name}: {err}") from None
        for name, t, n in (("src", src, num_src), ("dst", dst, num_dst)):
            if e and (int(t.min()) < 0 or int(t.max()) >= n):
                bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
                raise ValueError(f"{op}: {name}: node {bad} is out of range [0, {n})")
        dst64 = dst.long()
        perm = torch.sort(dst64, stable=True).indices
        counts = torch.zeros(num_dst, dtype=torch.int64, device=dst.device)
        counts.index_add_(0, dst64, torch.ones_like(dst64))
        indptr = torch.zeros(num_dst + 1, dtype=dtype, device=dst.device)
        indptr[1:] = torch.cumsum(counts, 0)
        indices = src.index_select(0, perm).to(dtype)
        identity = bool(torch.equal(perm, torch.arange(e, device=perm.device)))
        return cls(indptr, indices, num_src, edge_perm=None if identity else perm, _checked=True)

    @classmethod
    def from_sparse(cls, adj: Tensor) -> "Graph":
        """The graph of a 2-D torch sparse adjacency ``adj[dst, src]`` (sparse CSR, or
        COO, which is coalesced first: duplicate entries merge, as torch does). Its edge
        order is the CSR order: edge values are ``adj.values()`` (CSR) or
        ``adj.coalesce().values()`` (COO)."""
        op = "pykernels.torch.Graph.from_sparse"
        if not isinstance(adj, Tensor):
            raise TypeError(f"{op}: adj: expected a torch sparse tensor, got {type(adj).__name__}")
        if adj.dim() != 2:
            raise _shape_error(f"{op}: adj: expected 2 dims, got shape {tuple(adj.shape)}")
        indptr, indices = _sparse_csr_indices(adj, op)
        return cls(indptr, indices, adj.shape[1])

    # ---------------------------------------------------------- properties

    @property
    def num_edges(self) -> int:
        return self.indices.shape[0]

    @property
    def device(self) -> torch.device:
        return self.indptr.device

    @property
    def index_dtype(self) -> torch.dtype:
        return self.indptr.dtype

    def in_degrees(self) -> Tensor:
        """(num_dst,) int64: the number of edges into each node (row lengths)."""
        return (self.indptr[1:] - self.indptr[:-1]).long()

    def out_degrees(self) -> Tensor:
        """(num_src,) int64: the number of edges out of each source node."""
        if self._transpose is not None:
            t = self._transpose[0]
            return (t[1:] - t[:-1]).long()
        deg = torch.zeros(self.num_src, dtype=torch.int64, device=self.device)
        return deg.index_add_(0, self.indices, torch.ones_like(self.indices, dtype=torch.int64))

    def transpose(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(t_indptr, t_indices, t_edge_ids)``: the CSC form (see
        ``torch.ops.pykernels.csr_transpose``), built on the first call and cached."""
        if self._transpose is None:
            self._transpose = tuple(_ops.csr_transpose_fast(self.indptr, self.indices, self.num_src))
        return self._transpose

    def add_self_loops(self) -> "Graph":
        """A new graph with one more edge v -> v for every node (DGL's add_self_loop:
        existing loops are kept), placed last in each row. Edge order: the graph's edges,
        then the N loops in node order (edge values: ``torch.cat([w, loop_w])``). Needs
        num_src == num_dst (ValueError otherwise)."""
        if self.num_src != self.num_dst:
            raise ValueError(f"pykernels.torch.Graph.add_self_loops: needs num_src == num_dst, "
                             f"got {self.num_src} and {self.num_dst}")
        n, e, dev = self.num_dst, self.num_edges, self.device
        nodes = torch.arange(n, device=dev)
        indptr = self.indptr + torch.arange(n + 1, dtype=self.indptr.dtype, device=dev)
        row = torch.repeat_interleave(nodes, self.in_degrees(), output_size=e)
        old_pos = torch.arange(e, device=dev) + row           # edge k moves down by its row
        loop_pos = self.indptr[1:].long() + nodes              # after the row's edges
        indices = torch.empty(e + n, dtype=self.indptr.dtype, device=dev)
        indices[old_pos] = self.indices
        indices[loop_pos] = nodes.to(self.indptr.dtype)
        perm = torch.empty(e + n, dtype=torch.int64, device=dev)
        perm[old_pos] = torch.arange(e, device=dev) if self.edge_perm is None else self.edge_perm
        perm[loop_pos] = nodes + e
        return Graph(indptr, indices, n, edge_perm=perm, _checked=True)

    def to(self, device) -> "Graph":
        """The graph on ``device`` (its cached transpose moves too); self if already there."""
        device = torch.device(device)
        if device == self.device:
            return self
        g = Graph(self.indptr.to(device), self.indices.to(device), self.num_src,
                  edge_perm=None if self.edge_perm is None else self.edge_perm.to(device),
                  _checked=True)
        if self._transpose is not None:
            g._transpose = tuple(t.to(device) for t in self._transpose)
        return g

    def edge_values_in_csr_order(self, edge_values: Tensor) -> Tensor:
        """``edge_values`` (E,) in the graph's edge order -> CSR order (differentiable)."""
        if self.edge_perm is None:
            return edge_values
        return edge_values.index_select(0, self.edge_perm)

    def __repr__(self) -> str:
        return (f"Graph(num_src={self.num_src}, num_dst={self.num_dst}, "
                f"num_edges={self.num_edges}, index_dtype={self.index_dtype}, "
                f"device={self.device})")


def _sparse_csr_indices(adj: Tensor, op: str):
    """(indptr, indices) of a 2-D sparse CSR or COO tensor (COO: of adj.coalesce())."""
    if adj.layout == torch.sparse_csr:
        return adj.crow_indices(), adj.col_indices()
    if adj.layout == torch.sparse_coo:
        c = adj if adj.is_coalesced() else adj.coalesce()
        idx = c.indices()
        indptr = torch._convert_indices_from_coo_to_csr(idx[0], adj.shape[0])
        return indptr, idx[1]
    raise TypeError(f"{op}: adj: expected layout torch.sparse_csr or torch.sparse_coo, got "
                    f"{adj.layout}")
