"""pykernels.jax.gspmm / csr_transpose against jax.ops.segment_sum / segment_max /
segment_min: every message and reduce, grads of x and edge_values, the transpose given or
built, jit, vmap (folded into the features and per index), errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn


def graph(seed, num_dst, num_src, max_deg, dtype=np.int32, unique=False):
    """A random CSR graph with some empty rows (and duplicate edges unless unique)."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(num_dst):
        deg = int(rng.integers(0, max_deg + 1)) if v % 3 else 0
        rows.append(rng.choice(num_src, size=min(deg, num_src), replace=False) if unique
                    else rng.integers(0, num_src, size=deg))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(dtype)
    indices = (np.concatenate(rows) if rows else np.zeros(0)).astype(dtype)
    return jnp.asarray(indptr), jnp.asarray(indices)


def reference(indptr, indices, x, message="copy_u", reduce="sum", edge_values=None):
    num_dst, e = indptr.shape[0] - 1, indices.shape[0]
    row = jnp.repeat(jnp.arange(num_dst), jnp.diff(indptr), total_repeat_length=e)
    msg = x[indices] if message == "copy_u" else x[indices] * edge_values[:, None]
    count = jnp.diff(indptr)[:, None]
    if reduce in ("sum", "mean"):
        y = jax.ops.segment_sum(msg, row, num_dst)
        return y if reduce == "sum" else y / jnp.maximum(count, 1).astype(x.dtype)
    seg = jax.ops.segment_max if reduce == "max" else jax.ops.segment_min
    return jnp.where(count > 0, seg(msg, row, num_dst), 0)


@pytest.mark.parametrize("dtype,message,reduce,index", [
    (np.float64, "copy_u", "sum", np.int32), (np.float32, "copy_u", "mean", np.int64),
    (np.float64, "copy_u", "max", np.int64), (np.float32, "copy_u", "min", np.int32),
    (np.float32, "u_mul_e", "sum", np.int64), (np.float64, "u_mul_e", "mean", np.int32),
    (np.float64, "u_mul_e", "max", np.int32), (np.float64, "u_mul_e", "min", np.int64)])
def test_matches_segment_reference(dtype, message, reduce, index):
    indptr, indices = graph(0, 7, 5, 4, index, unique=reduce in ("max", "min"))
    x = randn(1, (5, 3), dtype)
    args = (x,) + ((randn(2, indices.shape, dtype),) if message == "u_mul_e" else ())

    def ours(x, ev=None):
        return kj.gspmm(indptr, indices, x, message, reduce, ev)

    def ref(x, ev=None):
        return reference(indptr, indices, x, message, reduce, ev)

    # every float argument mapped: edge_values mapped runs per index; x alone folds into F
    check_op(ours, ref, args)
    check_op(ours, ref, args, grad=False, vmap_in_axes=(0,) + ((None,) if len(args) > 1 else ()))


def test_transpose_given_matches_built_and_csc_form():
    indptr, indices = graph(3, 6, 4, 5)
    t_indptr, t_indices, t_edge_ids = kj.csr_transpose(indptr, indices, 4)
    ip, ix = np.asarray(indptr), np.asarray(indices)
    row = np.repeat(np.arange(6), np.diff(ip))
    order = np.argsort(ix, kind="stable")  # edges grouped by source, CSR order within
    np.testing.assert_array_equal(t_edge_ids, order)
    np.testing.assert_array_equal(t_indices, row[order])
    np.testing.assert_array_equal(t_indptr, np.concatenate([[0], np.cumsum(np.bincount(ix, minlength=4))]))
    assert t_indptr.dtype == indptr.dtype
    x, ev = randn(4, (4, 2)), randn(5, indices.shape)

    def loss(t):
        return lambda x, ev: jnp.sum(jnp.cos(kj.gspmm(indptr, indices, x, "u_mul_e", "mean", ev, transpose=t)))
    given = jax.jit(jax.grad(loss((t_indptr, t_indices, t_edge_ids)), argnums=(0, 1)))(x, ev)
    built = jax.grad(loss(None), argnums=(0, 1))(x, ev)
    for a, b in zip(given, built):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_grad_of_x_under_vmap_folds(reduce):
    indptr, indices = graph(6, 5, 4, 3, unique=True)
    xs = randn(7, (3, 4, 2))
    t = kj.csr_transpose(indptr, indices, 4)

    def loss(f, **kw):
        return lambda x: jnp.sum(jnp.sin(f(indptr, indices, x, "copy_u", reduce, **kw)))
    ours = jax.vmap(jax.grad(loss(kj.gspmm, transpose=t)))(xs)
    ref = jax.vmap(jax.grad(loss(reference)))(xs)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)
    # folded: one forward and one backward call on (num_nodes, 3*2), no per-index loop
    jaxpr = str(jax.make_jaxpr(jax.vmap(jax.grad(loss(kj.gspmm, transpose=t))))(xs))
    assert "scan" not in jaxpr and "while" not in jaxpr
    assert jaxpr.count("ffi_call[") == 2 and "f64[5,6]" in jaxpr and "f64[4,6]" in jaxpr


def test_empty_graph_and_skip_index_check():
    indptr, indices = jnp.zeros((4,), jnp.int32), jnp.zeros((0,), jnp.int32)
    x = randn(8, (2, 3))
    np.testing.assert_array_equal(kj.gspmm(indptr, indices, x, reduce="max"), np.zeros((3, 3)))
    np.testing.assert_array_equal(jax.grad(lambda a: jnp.sum(kj.gspmm(indptr, indices, a)))(x), 0.0)
    ip, ix = graph(9, 4, 3, 3)
    np.testing.assert_array_equal(kj.gspmm(ip, ix, randn(1, (3, 2)), skip_index_check=True),
                                  kj.gspmm(ip, ix, randn(1, (3, 2))))


def test_errors():
    indptr, indices = graph(10, 4, 3, 3)
    x = randn(0, (3, 2))
    with pytest.raises(ValueError, match="message"):
        kj.gspmm(indptr, indices, x, "u_add_e")
    with pytest.raises(ValueError, match="reduce"):
        kj.gspmm(indptr, indices, x, reduce="prod")
    with pytest.raises(ValueError, match="required"):
        kj.gspmm(indptr, indices, x, "u_mul_e")
    with pytest.raises(ValueError, match="must be None"):
        kj.gspmm(indptr, indices, x, edge_values=jnp.ones(indices.shape))
    with pytest.raises(ValueError, match="edge_values must have shape"):
        kj.gspmm(indptr, indices, x, "u_mul_e", edge_values=jnp.ones((indices.shape[0] + 1,)))
    with pytest.raises(TypeError, match="share one dtype"):
        kj.gspmm(indptr, indices.astype(jnp.int64), x)
    with pytest.raises(TypeError, match="int32 or int64"):
        kj.gspmm(indptr.astype(jnp.float32), indices, x)
    with pytest.raises(ValueError, match="2 dims"):
        kj.gspmm(indptr, indices, x[0])
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.gspmm(indptr, indices, x.astype(jnp.int32))
    with pytest.raises(ValueError, match="num_src"):
        kj.gspmm(indptr, indices, x, transpose=kj.csr_transpose(indptr, indices, 5))
    with pytest.raises(ValueError, match="num_src"):
        kj.csr_transpose(indptr, indices, -1)
    with pytest.raises(Exception, match="out of range"):  # the CPU kernel's scan of the graph
        jax.block_until_ready(kj.gspmm(indptr, indices.at[0].set(7), x))
