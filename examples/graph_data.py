"""Graph datasets for the GCN example: Planetoid citation graphs, Zachary's karate
club, and a stochastic block model generator.

Every loader returns a :class:`GraphData` of NumPy arrays (no torch needed here):
node features, integer labels, the directed edge list ``src -> dst`` with both
directions of every undirected edge, no self-loops and no duplicates (the GCN adds
one self-loop per node itself), and boolean train/val/test node masks.

Nothing is downloaded: the Planetoid files (Cora, CiteSeer, PubMed from
https://github.com/kimiyoung/planetoid, directory ``data/``) must already be in
the directory given to :func:`load_planetoid`.
"""
import os
import pickle
from dataclasses import dataclass

import numpy as np

PLANETOID = ("cora", "citeseer", "pubmed")


@dataclass
class GraphData:
    """A node-classification graph.

    features: float32 (N, F); labels: int64 (N,); src, dst: int64 (E,) edges
    src -> dst (both directions of each undirected edge, sorted by (src, dst), no
    self-loops, no duplicates); train_mask, val_mask, test_mask: bool (N,).
    """
    name: str
    features: np.ndarray
    labels: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    train_mask: np.ndarray
    val_mask: np.ndarray
    test_mask: np.ndarray
    num_classes: int

    @property
    def num_nodes(self):
        return len(self.labels)

    @property
    def num_edges(self):
        return len(self.src)

    def summary(self):
        return (f"{self.name}: {self.num_nodes} nodes, {self.num_edges} directed edges, "
                f"{self.features.shape[1]} features, {self.num_classes} classes; "
                f"{int(self.train_mask.sum())} train / {int(self.val_mask.sum())} val / "
                f"{int(self.test_mask.sum())} test nodes")


def undirected_edges(src, dst, num_nodes):
    """(src, dst) int64 with both directions of every pair, self-loops and duplicates
    removed, sorted by (src, dst). O(E log E)."""
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    if len(src) != len(dst):
        raise ValueError(f"src and dst differ in length: {len(src)} vs {len(dst)}")
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise ValueError(f"edge endpoints must be in [0, {num_nodes})")
    keep = src != dst
    both_src = np.concatenate([src[keep], dst[keep]])
    both_dst = np.concatenate([dst[keep], src[keep]])
    key = np.sort(both_src * num_nodes + both_dst)  # by (src, dst); np.unique hashes: slower
    if len(key):
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    return key // num_nodes, key % num_nodes


def _mask(index, n):
    mask = np.zeros(n, dtype=bool)
    mask[index] = True
    return mask


# ---------------------------------------------------------------- Planetoid

def _planetoid_path(root, name, suffix):
    path = os.path.join(root, f"ind.{name}.{suffix}")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: the Planetoid data ({name}) is not downloaded here; put the "
            f"files ind.{name}.{{x,y,tx,ty,allx,ally,graph,test.index}} from "
            f"https://github.com/kimiyoung/planetoid/tree/master/data in that directory "
            f"and pass --root DIR")
    return path


def _dense(matrix):
    """A scipy sparse matrix or array-like as a dense float32 array."""
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float32)


def load_planetoid(name, root):
    """Cora, CiteSeer or PubMed from the Planetoid files in ``root``, exactly as the
    reference loaders (Kipf & Welling's gcn/utils.py, PyG's read_planetoid_data).

    Files ``ind.<name>.<x|y|tx|ty|allx|ally|graph>`` are pickles (scipy sparse
    feature matrices, one-hot NumPy label arrays, a dict node -> list of neighbours)
    read with ``encoding='latin1'``; ``ind.<name>.test.index`` is text, one node id
    a line. The nodes are the ``allx`` rows followed by the test nodes; row k of
    ``tx``/``ty`` belongs to node ``test.index[k]`` (the file's order), so features
    = vstack(allx, tx) with the test rows moved to their nodes. Test node ids with
    gaps (CiteSeer's 15 isolated nodes that are in no split) get zero feature rows
    and label 0 (the argmax of an all-zero row, as PyG); Kipf pads CiteSeer only,
    here any gap is padded, which is the identity for Cora and PubMed.

    The standard split: train = the first len(y) nodes, val = the next 500 (at most
    up to the last allx node), test = the nodes of test.index. Edges: the graph
    dict made undirected; its self-loops and duplicate edges are dropped (as PyG;
    the GCN adds one self-loop per node itself).
    """
    name = name.lower()
    objects = {}
    for suffix in ("x", "y", "tx", "ty", "allx", "ally", "graph"):
        with open(_planetoid_path(root, name, suffix), "rb") as f:
            objects[suffix] = pickle.load(f, encoding="latin1")
    with open(_planetoid_path(root, name, "test.index")) as f:
        test_index = np.array([int(line) for line in f if line.strip()], dtype=np.int64)

    x, y = _dense(objects["x"]), np.asarray(objects["y"])
    tx, ty = _dense(objects["tx"]), np.asarray(objects["ty"], dtype=np.float32)
    allx, ally = _dense(objects["allx"]), np.asarray(objects["ally"], dtype=np.float32)
    if len(allx) != len(ally) or len(tx) != len(ty) or len(x) != len(y):
        raise ValueError(f"{name}: feature and label rows disagree (x {len(x)}/y {len(y)}, "
                         f"tx {len(tx)}/ty {len(ty)}, allx {len(allx)}/ally {len(ally)})")
    if len(test_index) != len(tx) or len(np.unique(test_index)) != len(test_index):
        raise ValueError(f"{name}: test.index has {len(test_index)} entries "
                         f"({len(np.unique(test_index))} distinct) for {len(tx)} tx rows")
    if len(test_index) and test_index.min() < len(allx):
        raise ValueError(f"{name}: test.index ids must follow the {len(allx)} allx nodes, "
                         f"got {test_index.min()}")
    sorted_test = np.sort(test_index)

    # Pad gaps in the test range (isolated nodes) with zero rows, then move row k of
    # tx/ty from sorted position k to node test_index[k] (the reference reordering).
    lo = int(sorted_test[0]) if len(sorted_test) else len(allx)
    span = int(sorted_test[-1]) - lo + 1 if len(sorted_test) else 0
    tx_full = np.zeros((span, allx.shape[1]), dtype=np.float32)
    ty_full = np.zeros((span, ally.shape[1]), dtype=np.float32)
    tx_full[sorted_test - lo] = tx
    ty_full[sorted_test - lo] = ty
    features = np.vstack([allx, tx_full])
    onehot = np.vstack([ally, ty_full])
    features[test_index] = features[sorted_test]
    onehot[test_index] = onehot[sorted_test]
    labels = onehot.argmax(1).astype(np.int64)
    n = len(features)

    graph = objects["graph"]
    src = np.fromiter((u for u, vs in graph.items() for _ in vs), dtype=np.int64)
    dst = np.fromiter((v for vs in graph.values() for v in vs), dtype=np.int64)
    src, dst = undirected_edges(src, dst, n)

    train = np.arange(len(y))
    val = np.arange(len(y), min(len(y) + 500, len(allx)))  # the cap binds only on toy data
    return GraphData(name=name, features=np.ascontiguousarray(features), labels=labels,
                     src=src, dst=dst, train_mask=_mask(train, n), val_mask=_mask(val, n),
                     test_mask=_mask(sorted_test, n), num_classes=onehot.shape[1])


# ---------------------------------------------------------------- karate club

def karate_club(labelled_per_class=3):
    """Zachary's karate club (networkx): 34 members, 78 friendships, labels = the club
    each member joined after the split (0 = 'Mr. Hi', 1 = 'Officer', 17 each),
    features = the 34x34 identity (each node its own one-hot).

    Semi-supervised split: the ``labelled_per_class`` best-connected members of each
    club train (highest degree, ties by lower id: with 3, nodes 0, 2, 1 of Mr. Hi's
    club and 33, 32, 31 of the Officer's, both leaders included); no validation
    nodes; the other 28 members are the test set.
    """
    import networkx as nx

    g = nx.karate_club_graph()
    n = g.number_of_nodes()
    clubs = sorted({g.nodes[v]["club"] for v in g})  # ['Mr. Hi', 'Officer']
    labels = np.array([clubs.index(g.nodes[v]["club"]) for v in range(n)], dtype=np.int64)
    edges = np.array(sorted(g.edges()), dtype=np.int64)
    src, dst = undirected_edges(edges[:, 0], edges[:, 1], n)
    degree = np.bincount(src, minlength=n)
    train = []
    for c in range(len(clubs)):
        members = np.flatnonzero(labels == c)
        order = np.lexsort((members, -degree[members]))  # by degree desc, then id
        train.extend(members[order[:labelled_per_class]])
    train_mask = _mask(np.array(train, dtype=np.int64), n)
    return GraphData(name="karate club", features=np.eye(n, dtype=np.float32), labels=labels,
                     src=src, dst=dst, train_mask=train_mask, val_mask=np.zeros(n, dtype=bool),
                     test_mask=~train_mask, num_classes=len(clubs))


# ---------------------------------------------------------------- stochastic block model

def stochastic_block_model(n, num_classes=5, avg_degree=10.0, p_in_out_ratio=12.0,
                           feature_dim=32, signal=0.3, train_per_class=20, num_val=500,
                           num_test=1000, seed=0):
    """A random graph with ``num_classes`` planted communities, generated in O(E).

    Labels are balanced (node i in class i mod C, shuffled). n * avg_degree / 2
    undirected edges are drawn: an endpoint u uniformly, the other endpoint in u's
    class with probability r / (r + C - 1) (r = ``p_in_out_ratio`` = p_in / p_out,
    the SBM's ratio of within- to between-class edge probabilities for balanced
    classes) and otherwise in one of the other classes, uniformly within the class.
    Self-loops and duplicates are dropped, so the graph has just under
    n * avg_degree directed edges (about 1M for n = 100000, in about a second).

    Features (n, feature_dim) = a class mean (a random Gaussian direction of norm
    ``signal * sqrt(feature_dim)``) plus unit Gaussian noise: too noisy to classify a
    node from its own features well, so a GCN, which averages over the mostly
    same-class neighbours, clearly beats an MLP.

    Split (as Planetoid): ``train_per_class`` nodes per class train, then
    ``num_val`` validation and ``num_test`` test nodes (each capped by what remains).
    Deterministic for a given ``seed``.
    """
    if n < num_classes or num_classes < 2:
        raise ValueError(f"need num_classes >= 2 and n >= num_classes, got n={n}, "
                         f"num_classes={num_classes}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n, dtype=np.int64) % num_classes)
    members = np.argsort(labels, kind="stable")  # node ids grouped by class
    size = np.bincount(labels, minlength=num_classes)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])

    m = int(round(n * avg_degree / 2))
    u = rng.integers(0, n, size=m)
    q_in = p_in_out_ratio / (p_in_out_ratio + num_classes - 1)
    same = rng.random(m) < q_in
    other = (labels[u] + rng.integers(1, num_classes, size=m)) % num_classes
    cls = np.where(same, labels[u], other)
    v = members[start[cls] + (rng.random(m) * size[cls]).astype(np.int64)]
    src, dst = undirected_edges(u, v, n)

    means = rng.standard_normal((num_classes, feature_dim))
    means *= signal * np.sqrt(feature_dim) / np.linalg.norm(means, axis=1, keepdims=True)
    features = (means[labels] + rng.standard_normal((n, feature_dim))).astype(np.float32)

    order = rng.permutation(n)
    train = np.concatenate([order[labels[order] == c][:train_per_class]
                            for c in range(num_classes)])
    rest = order[~_mask(train, n)[order]]
    val = rest[:min(num_val, len(rest) // 2)]
    test = rest[len(val):len(val) + num_test]
    return GraphData(name=f"SBM n={n}", features=features, labels=labels, src=src, dst=dst,
                     train_mask=_mask(train, n), val_mask=_mask(val, n),
                     test_mask=_mask(test, n), num_classes=num_classes)
