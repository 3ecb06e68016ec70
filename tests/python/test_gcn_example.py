"""The GCN example (examples/gcn.py) and its graph loaders (examples/graph_data.py)."""
import collections
import pathlib
import pickle
import re
import sys

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
pytest.importorskip("networkx")
torch = pytest.importorskip("torch")

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
import graph_data  # noqa: E402


def edge_set(data):
    return set(zip(data.src.tolist(), data.dst.tolist()))


def check_edge_list(data):
    """Both directions, no self-loops, no duplicates, sorted by (src, dst), in range."""
    src, dst = data.src, data.dst
    assert src.dtype == np.int64 and dst.dtype == np.int64 and len(src) == len(dst)
    assert not np.any(src == dst)
    key = src * data.num_nodes + dst
    assert np.all(np.diff(key) > 0)
    assert edge_set(data) == {(v, u) for u, v in edge_set(data)}
    assert src.min() >= 0 and max(src.max(), dst.max()) < data.num_nodes


# ---------------------------------------------------------------- Planetoid

def write_planetoid(root, name):
    """A tiny Planetoid dataset in the exact ind.* layout; returns what a correct
    loader must produce. 6 allx nodes (the first 3 labelled = x, y), test nodes
    listed unsorted as 9, 6, 10, 7 (node 8 is missing: a CiteSeer-like gap)."""
    rng = np.random.default_rng(1)
    feats, classes = 4, 3
    allx = rng.random((6, feats)).round(2) * (rng.random((6, feats)) < 0.6)
    ally = np.eye(classes)[[0, 1, 2, 1, 0, 2]]
    test_index = [9, 6, 10, 7]
    tx = rng.random((4, feats)).round(2) + 0.01
    ty = np.eye(classes)[[2, 1, 0, 1]]
    graph = collections.defaultdict(list, {  # every node a key, as in the real files
        0: [1, 2], 1: [0], 2: [2, 3, 3],  # a self-loop and a duplicate
        3: [], 4: [], 5: [9],             # 3 -> 2 and 9 -> 5 listed one way only
        6: [], 7: [], 8: [], 9: [10], 10: [9]})
    objects = {"x": sp.csr_matrix(allx[:3]), "y": ally[:3], "tx": sp.csr_matrix(tx), "ty": ty,
               "allx": sp.csr_matrix(allx), "ally": ally, "graph": graph}
    for suffix, obj in objects.items():
        with open(root / f"ind.{name}.{suffix}", "wb") as f:
            pickle.dump(obj, f, protocol=2)
    (root / f"ind.{name}.test.index").write_text("".join(f"{i}\n" for i in test_index))

    features = np.zeros((11, feats), dtype=np.float32)
    labels = np.zeros(11, dtype=np.int64)
    features[:6], labels[:6] = allx, ally.argmax(1)
    for k, node in enumerate(test_index):
        features[node], labels[node] = tx[k], ty[k].argmax()
    undirected = {(0, 1), (0, 2), (2, 3), (5, 9), (9, 10)}
    return {"features": features, "labels": labels, "train": [0, 1, 2], "val": [3, 4, 5],
            "test": [6, 7, 9, 10], "edges": undirected | {(v, u) for u, v in undirected}}


def test_planetoid_loader_matches_the_reference_layout(tmp_path):
    expected = write_planetoid(tmp_path, "toy")
    data = graph_data.load_planetoid("toy", str(tmp_path))
    assert data.name == "toy" and data.num_nodes == 11 and data.num_classes == 3
    assert data.features.dtype == np.float32 and data.labels.dtype == np.int64
    np.testing.assert_allclose(data.features, expected["features"], rtol=1e-6)
    np.testing.assert_array_equal(data.features[8], 0)  # the gap: a zero row
    np.testing.assert_array_equal(data.labels, expected["labels"])
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(np.flatnonzero(getattr(data, f"{split}_mask")),
                                      expected[split], err_msg=split)
    assert edge_set(data) == expected["edges"]
    check_edge_list(data)
    assert "11 nodes, 10 directed edges, 4 features, 3 classes" in data.summary()


def test_planetoid_loader_agrees_with_kipfs_reference_code(tmp_path):
    """Kipf & Welling's gcn/utils.py load_data, transcribed (scipy + networkx), on the
    same files: same features, labels and adjacency (up to the self-loop we drop)."""
    import networkx as nx
    write_planetoid(tmp_path, "citeseer")
    objects = []
    for suffix in ("x", "y", "tx", "ty", "allx", "ally", "graph"):
        with open(tmp_path / f"ind.citeseer.{suffix}", "rb") as f:
            objects.append(pickle.load(f, encoding="latin1"))
    x, y, tx, ty, allx, ally, graph = objects
    test_idx_reorder = [int(l) for l in open(tmp_path / "ind.citeseer.test.index")]
    test_idx_range = np.sort(test_idx_reorder)
    full = range(min(test_idx_reorder), max(test_idx_reorder) + 1)
    tx_extended = sp.lil_matrix((len(full), x.shape[1]))
    tx_extended[test_idx_range - min(test_idx_range), :] = tx
    ty_extended = np.zeros((len(full), y.shape[1]))
    ty_extended[test_idx_range - min(test_idx_range), :] = ty
    features = sp.vstack((allx, tx_extended)).tolil()
    features[test_idx_reorder, :] = features[test_idx_range, :]
    labels = np.vstack((ally, ty_extended))
    labels[test_idx_reorder, :] = labels[test_idx_range, :]
    adj = nx.adjacency_matrix(nx.from_dict_of_lists(graph), nodelist=range(11)).toarray()

    data = graph_data.load_planetoid("citeseer", str(tmp_path))
    np.testing.assert_allclose(data.features, features.toarray(), rtol=1e-6)
    np.testing.assert_array_equal(data.labels, labels.argmax(1))
    np.testing.assert_array_equal(np.flatnonzero(data.test_mask), test_idx_range)
    ours = np.zeros((11, 11))
    ours[data.dst, data.src] = 1
    np.fill_diagonal(adj, 0)
    np.testing.assert_array_equal(ours, adj)


def test_planetoid_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ind\.cora\.x not found.*not downloaded here"):
        graph_data.load_planetoid("cora", str(tmp_path))
    write_planetoid(tmp_path, "cora")
    (tmp_path / "ind.cora.test.index").unlink()
    with pytest.raises(FileNotFoundError, match=r"ind\.cora\.test\.index"):
        graph_data.load_planetoid("Cora", str(tmp_path))


def test_planetoid_inconsistent_files_raise(tmp_path):
    write_planetoid(tmp_path, "toy")
    (tmp_path / "ind.toy.test.index").write_text("9\n6\n10\n")
    with pytest.raises(ValueError, match="test.index has 3 entries"):
        graph_data.load_planetoid("toy", str(tmp_path))


# ---------------------------------------------------------------- karate club, SBM

def test_karate_club():
    data = graph_data.karate_club()
    assert data.num_nodes == 34 and data.num_edges == 2 * 78 and data.num_classes == 2
    check_edge_list(data)
    np.testing.assert_array_equal(np.bincount(data.labels), [17, 17])
    assert data.labels[0] == 0 and data.labels[33] == 1  # Mr. Hi and the Officer
    np.testing.assert_array_equal(data.features, np.eye(34))
    np.testing.assert_array_equal(np.flatnonzero(data.train_mask), [0, 1, 2, 31, 32, 33])
    assert not data.val_mask.any() and data.test_mask.sum() == 28
    assert not (data.train_mask & data.test_mask).any()


def test_stochastic_block_model_sizes_and_determinism():
    n, degree = 3000, 10
    data = graph_data.stochastic_block_model(n, num_classes=4, avg_degree=degree,
                                             feature_dim=8, seed=3)
    assert data.features.shape == (n, 8) and data.features.dtype == np.float32
    assert data.num_classes == 4
    np.testing.assert_array_equal(np.bincount(data.labels), [n // 4] * 4)
    assert 0.97 * n * degree <= data.num_edges <= n * degree
    check_edge_list(data)
    # Within-class edges with probability r / (r + C - 1) = 12 / 15.
    same = (data.labels[data.src] == data.labels[data.dst]).mean()
    assert abs(same - 0.8) < 0.02
    masks = np.stack([data.train_mask, data.val_mask, data.test_mask])
    assert masks.sum(0).max() == 1
    assert masks.sum(1).tolist() == [80, 500, 1000]
    np.testing.assert_array_equal(np.bincount(data.labels[data.train_mask]), [20] * 4)

    again = graph_data.stochastic_block_model(n, num_classes=4, avg_degree=degree,
                                              feature_dim=8, seed=3)
    for field in ("features", "labels", "src", "dst", "train_mask", "val_mask", "test_mask"):
        np.testing.assert_array_equal(getattr(again, field), getattr(data, field), err_msg=field)
    other = graph_data.stochastic_block_model(n, num_classes=4, avg_degree=degree,
                                              feature_dim=8, seed=4)
    assert not np.array_equal(other.src, data.src)
    with pytest.raises(ValueError, match="num_classes"):
        graph_data.stochastic_block_model(3, num_classes=5)


def test_stochastic_block_model_needs_the_graph():
    """The generator's promise: a node's own features classify it poorly, the
    normalised-adjacency average of its 2-hop neighbourhood well (nearest class mean
    estimated on the training nodes)."""
    data = graph_data.stochastic_block_model(4000, seed=0)
    n = data.num_nodes
    a = sp.csr_matrix((np.ones(data.num_edges), (data.dst, data.src)), shape=(n, n)) + sp.eye(n)
    d = np.asarray(a.sum(1)).ravel() ** -0.5
    a_hat = sp.diags(d) @ a @ sp.diags(d)

    def nearest_mean_accuracy(x):
        means = np.stack([x[data.train_mask & (data.labels == c)].mean(0)
                          for c in range(data.num_classes)])
        dist = ((x[data.test_mask, None, :] - means[None]) ** 2).sum(-1)
        return (dist.argmin(1) == data.labels[data.test_mask]).mean()

    own = nearest_mean_accuracy(data.features)
    graph = nearest_mean_accuracy(a_hat @ (a_hat @ data.features))
    assert own < 0.75 and graph > 0.9 and graph - own > 0.25, (own, graph)


# ---------------------------------------------------------------- the example

@pytest.fixture(scope="module")
def gcn():
    import pykernels
    import gcn as module
    threads = torch.get_num_threads(), pykernels.get_num_threads()
    # One thread: the graphs here are tiny, and OpenMP on a loaded 2-core machine
    # slows torch's sparse ops (and ours) by up to 100x.
    torch.set_num_threads(1)
    pykernels.set_num_threads(1)
    yield module
    torch.set_num_threads(threads[0])  # main() sets --threads: restore for later tests
    pykernels.set_num_threads(threads[1])


def last_accuracy(out):
    match = re.fullmatch(r"test accuracy (\d+\.\d\d)%", out.strip().splitlines()[-1])
    assert match, out
    return float(match.group(1))


def test_normalized_adjacency_is_kipfs(gcn):
    data = graph_data.karate_club()
    adj = gcn.normalized_adjacency(torch.from_numpy(data.src), torch.from_numpy(data.dst),
                                   data.num_nodes, dtype=torch.float64).to_dense().numpy()
    a = np.eye(34)
    a[data.dst, data.src] = 1
    d = a.sum(1) ** -0.5
    np.testing.assert_allclose(adj, d[:, None] * a * d[None, :], rtol=1e-12)


def test_karate_club_trains(gcn, capsys):
    assert gcn.main(["--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "karate club: 34 nodes, 156 directed edges" in out
    assert re.search(r"\[pykernels\] epoch 200/200: loss \d+\.\d{4}  train 100\.00%  val -  "
                     r"\(\d+\.\d{4} s/epoch\)", out), out
    assert len(re.findall(r"\[pykernels\] epoch", out)) == 21  # 1, 10, 20, ..., 200
    # The test nodes split 14/14: a model that ignores the graph (identity features)
    # cannot beat 50%.
    assert last_accuracy(out) >= 85.0, out


@pytest.mark.parametrize("dataset", ["karate", "sbm"])
def test_pykernels_and_torch_sparse_train_alike(gcn, dataset):
    """Same seed, same initial weights, no dropout: the pykernels GCN and the
    torch.sparse.mm twin follow the same loss curve and predict the same."""
    argv = ["--dropout", "0", "--epochs", "30"]
    argv += ["--synthetic", "1000"] if dataset == "sbm" else []
    args = gcn.parse_args(argv)
    data = gcn.load_data(args)
    ours, theirs = gcn.make_runs(data, args, compare=True)
    for name, p in ours.model.state_dict().items():
        torch.testing.assert_close(theirs.model.state_dict()[name], p, rtol=0, atol=0)
    logits0, _ = ours.evaluate()
    torch.testing.assert_close(logits0, theirs.evaluate()[0], rtol=1e-5, atol=1e-5)
    for _ in range(args.epochs):
        ours.step()
        theirs.step()
    # float32 rounding only (measured: 1e-7 on the losses, 2e-6 on the logits).
    np.testing.assert_allclose(ours.losses, theirs.losses, rtol=1e-5, atol=1e-6)
    logits, acc = ours.evaluate()
    logits_torch, acc_torch = theirs.evaluate()
    torch.testing.assert_close(logits, logits_torch, rtol=1e-4, atol=1e-4)
    assert (logits.argmax(1) != logits_torch.argmax(1)).sum() <= data.num_nodes // 1000
    assert abs(acc["test"] - acc_torch["test"]) <= 0.5


def test_synthetic_runs(gcn, capsys):
    assert gcn.main(["--synthetic", "2000", "--epochs", "5", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "SBM n=2000: 2000 nodes" in out and "epoch 5/5:" in out, out
    assert re.search(r"median \d+\.\d{4} s/epoch", out), out
    last_accuracy(out)


def test_compare_prints_both_rows(gcn, capsys):
    assert gcn.main(["--compare", "--epochs", "30", "--seed", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    ours = re.search(r"pykernels nn\.GraphConv +(\d+\.\d\d)% +\d+\.\d{4}", out)
    theirs = re.search(r"torch\.sparse\.mm \(CSR\) +(\d+\.\d\d)% +\d+\.\d{4}", out)
    assert ours and theirs, out
    assert re.search(r"time ratio pykernels/torch: \d+\.\d\d", out), out
    assert "[torch] epoch 30/30" in out, out
    assert last_accuracy(out) == float(ours.group(1))


def test_missing_planetoid_exits_with_the_reason(gcn, tmp_path):
    with pytest.raises(SystemExit, match="not downloaded here"):
        gcn.main(["--dataset", "pubmed", "--root", str(tmp_path)])


def test_planetoid_files_train_row_normalised(gcn, tmp_path, capsys):
    raw = write_planetoid(tmp_path, "cora")["features"]
    args = gcn.parse_args(["--dataset", "cora", "--root", str(tmp_path)])
    rows = raw.sum(1, keepdims=True)
    assert (rows == 0).sum() >= 1  # the padded gap node 8, kept at zero
    np.testing.assert_allclose(gcn.load_data(args).features,
                               np.where(rows > 0, raw / np.where(rows > 0, rows, 1), 0), rtol=1e-6)
    assert gcn.main(["--dataset", "cora", "--root", str(tmp_path), "--epochs", "3",
                     "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "cora: 11 nodes, 10 directed edges, 4 features, 3 classes; 3 train / 3 val / 4 test" \
        in out, out
    assert re.search(r"\[pykernels\] epoch 3/3: loss \d\.\d{4}  train \d+\.\d\d%  "
                     r"val \d+\.\d\d%", out), out
    last_accuracy(out)
