"""Tree-aware scoring of permuted copies, the fast path of permutation importance for forests.

A forest's predicted probability is the mean of its trees' leaf values. When one feature is
permuted, a tree that never splits on it gives every row the same leaf as before, and in a
tree that does, a row can only move below the first node on its path that splits on it. So
each row's leaf in each tree is found once (``Tree.apply``), and for each such (tree, row)
pair the leaf below that node is tabulated once as a step function of the feature's value:
scoring a permuted copy then looks up only those pairs, by the breakpoints its new value
exceeds, and never walks a tree again.

Each row's sum restarts from the baseline's partial sum before the first tree that can move
it and adds the trees in scikit-learn's order, then is divided by the number of trees as
:meth:`sklearn.ensemble.RandomForestClassifier.predict_proba` does, so every probability is
bit for bit the one scikit-learn returns and ties stay ties.

A group of features permuted together (rows moving as one, as in
:func:`medinterp.importance.grouped_permutation_importance`) is not a step function of one
number; there, only the (tree, row) pairs whose path splits on a feature of the group are
walked again, from their first such split, and every other pair keeps its leaf.

:func:`forest_predictor` is the only entry point that :mod:`medinterp.importance` needs: it
returns a :class:`ForestPermutationPredictor` for a model it reproduces exactly, and ``None``
for any other model, which then keeps the stacked ``predict_proba`` path.

The loops are compiled with numba (``cache=True``): the first call in a fresh environment
compiles them (a few seconds), later processes load them from numba's cache.

Why this module is long: the one-feature and the group paths share the forest's packed node
table, the baseline prefix sums and the first-split search; apart, one would import the
other's private arrays.
"""

from __future__ import annotations

import numba
import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

__all__ = ["SUPPORTED_MODELS", "ForestPermutationPredictor", "forest_predictor"]

# Exact types, not subclasses: a subclass may predict differently, and then only its own
# predict_proba is right.
SUPPORTED_MODELS = (RandomForestClassifier, ExtraTreesClassifier)

# scikit-learn's TREE_LEAF: a node whose left child is -1 is a leaf.
_LEAF = -1
# Columns of the packed node table: one row per node keeps a walk's reads together in memory.
_LEFT, _RIGHT, _FEATURE, _MISSING_LEFT = 0, 1, 2, 3


def forest_predictor(model, values: np.ndarray) -> ForestPermutationPredictor | None:
    """A fast predictor of ``model`` on ``values`` if the model is a supported forest.

    Parameters
    ----------
    model : estimator
        Any estimator. Only a fitted, single-output
        :class:`~sklearn.ensemble.RandomForestClassifier` or
        :class:`~sklearn.ensemble.ExtraTreesClassifier` (exactly those types) is supported.
    values : ndarray of shape (n_rows, n_features)
        The feature values, in the column order the model was fitted with.

    Returns
    -------
    ForestPermutationPredictor or None
        ``None`` when the model is not supported; the caller then scores permuted copies
        with ``model.predict_proba``.
    """
    if type(model) not in SUPPORTED_MODELS or not hasattr(model, "estimators_"):
        return None
    # One output with a second class: predict_proba[:, 1] is defined.
    if model.n_outputs_ != 1 or model.n_classes_ < 2:
        return None
    return ForestPermutationPredictor(model, values)


class ForestPermutationPredictor:
    """``model.predict_proba(X_permuted)[:, 1]`` for copies of ``X`` with one column permuted.

    Parameters
    ----------
    model : RandomForestClassifier or ExtraTreesClassifier
        Fitted, single output. Probabilities are those of ``model.classes_[1]``.
    values : ndarray of shape (n_rows, n_features)
        The feature values, in the column order the model was fitted with. Cast to float32,
        as scikit-learn does before walking its trees. Copied; never modified.

    Attributes
    ----------
    n_trees, n_rows : int
    baseline_probabilities : ndarray of shape (n_rows,)
        Equal, bit for bit, to ``model.predict_proba(X)[:, 1]`` predicted on one thread.
    n_tree_evaluations : int
        (tree, row) pairs looked up again so far by :meth:`permuted_probabilities`, over all
        copies: those whose path splits on the permuted feature.
    n_tree_evaluations_stacked : int
        The pairs ``predict_proba`` would have evaluated for the same copies
        (``n_trees * n_rows`` per copy).
    """

    def __init__(self, model, values: np.ndarray):
        trees = [estimator.tree_ for estimator in model.estimators_]
        values = np.asarray(values)
        if values.ndim != 2 or values.shape[1] != model.n_features_in_:
            raise ValueError(
                f"values must have shape (n_rows, {model.n_features_in_}), got {values.shape}"
            )
        self.n_trees = len(trees)
        self.n_rows = values.shape[0]
        self.n_tree_evaluations = 0
        self.n_tree_evaluations_stacked = 0
        self._values = np.array(values, dtype=np.float32, order="C")
        sizes = np.array([tree.node_count for tree in trees], dtype=np.int64)
        self._roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

        def joined(read):
            return np.concatenate([np.asarray(read(tree)) for tree in trees])

        # One table for the whole forest, children numbered across it.
        left = joined(lambda tree: tree.children_left).astype(np.int64)
        right = joined(lambda tree: tree.children_right).astype(np.int64)
        is_leaf = left == _LEAF
        owner = np.repeat(self._roots, sizes)
        self._nodes = np.empty((len(left), 4), dtype=np.int64)
        self._nodes[:, _LEFT] = np.where(is_leaf, _LEAF, left + owner)
        self._nodes[:, _RIGHT] = np.where(is_leaf, _LEAF, right + owner)
        self._nodes[:, _FEATURE] = np.where(is_leaf, -1, joined(lambda tree: tree.feature))
        self._nodes[:, _MISSING_LEFT] = joined(lambda tree: tree.missing_go_to_left)
        self._threshold = joined(lambda tree: tree.threshold).astype(np.float64)
        self._max_depth = max(tree.max_depth for tree in trees)
        self._parent = np.full(len(left), -1, dtype=np.int64)
        self._parent[self._nodes[~is_leaf, _LEFT]] = np.flatnonzero(~is_leaf)
        self._parent[self._nodes[~is_leaf, _RIGHT]] = np.flatnonzero(~is_leaf)
        # tree_.value holds each node's class fractions; a tree's predict_proba is value[leaf].
        leaf_value = joined(lambda tree: tree.value[:, 0, 1]).astype(np.float64)

        self._leaf_value = leaf_value
        # Each row's leaf in each tree, numbered across the forest; Tree.apply is what
        # predict_proba walks with.
        self._leaves = np.stack([tree.apply(self._values) for tree in trees], axis=1)
        self._leaves += self._roots
        self._leaf_values = leaf_value[self._leaves]
        # Column t: the sum of the first t trees, added one by one from 0.0 as scikit-learn's
        # ``all_proba += prediction`` does (cumsum adds in order), so a sum can restart
        # exactly from any tree.
        self._prefix_sums = np.zeros((self.n_rows, self.n_trees + 1))
        np.cumsum(self._leaf_values, axis=1, out=self._prefix_sums[:, 1:])
        self.baseline_probabilities = self._prefix_sums[:, -1] / self.n_trees
        self._uses_feature = np.zeros((self.n_trees, values.shape[1]), dtype=np.bool_)
        for t, tree in enumerate(trees):
            self._uses_feature[t, tree.feature[tree.children_left != _LEAF]] = True

    @property
    def leaves(self) -> np.ndarray:
        """Each row's leaf in each tree, ``(n_rows, n_trees)``, equal to ``model.apply(X)``."""
        return self._leaves - self._roots

    def n_trees_using(self, feature_index: int) -> int:
        """How many trees split on the feature at least once."""
        return int(self._uses_feature[:, feature_index].sum())

    def permuted_probabilities(self, feature_index: int, permutations) -> np.ndarray:
        """Predicted probabilities with one column permuted, once per permutation.

        Parameters
        ----------
        feature_index : int
            The column to permute.
        permutations : sequence of ndarray of shape (n_rows,)
            In copy ``k``, row ``i`` gets the feature value of row ``permutations[k][i]``,
            as in ``values[permutations[k], feature_index]``.

        Returns
        -------
        ndarray of shape (len(permutations), n_rows)
            Row ``k`` equals ``model.predict_proba(copy_k)[:, 1]`` bit for bit.
        """
        orders = np.asarray(permutations, dtype=np.int64).reshape(-1, self.n_rows)
        first_split = _first_splits(self._feature_mask([feature_index]), self._parent, self._nodes)
        # The (tree, row) pairs whose path splits on the feature, row by row, trees in order.
        crosses = first_split[self._leaves] >= 0
        row_start = np.concatenate([[0], np.cumsum(crosses.sum(axis=1))])
        pair_tree = np.nonzero(crosses)[1]
        pair_leaf = self._leaves[crosses]
        piece_start, breakpoints, piece_value = _pieces(
            feature_index, row_start, pair_leaf, first_split, self._values, self._nodes,
            self._threshold, self._leaf_value, self._max_depth,
        )  # fmt: skip
        # permuted[i, k]: row i's value of the feature in copy k.
        permuted = np.ascontiguousarray(self._values[:, feature_index][orders].T)
        sums = _permuted_sums(
            self._values, feature_index, permuted, row_start, pair_tree, pair_leaf, first_split,
            piece_start, breakpoints, piece_value, self._leaf_values, self._prefix_sums,
            self._nodes, self._threshold, self._leaf_value,
        )  # fmt: skip
        self.n_tree_evaluations += len(orders) * len(pair_tree)
        self.n_tree_evaluations_stacked += len(orders) * self.n_trees * self.n_rows
        # The same division as scikit-learn's ``proba /= len(self.estimators_)``.
        return np.ascontiguousarray(sums.T) / self.n_trees

    def permuted_group_probabilities(self, feature_indices, permutations) -> np.ndarray:
        """Predicted probabilities with several columns permuted together, rows as one.

        Parameters
        ----------
        feature_indices : sequence of int
            The columns of the group. One column takes :meth:`permuted_probabilities`.
        permutations : sequence of ndarray of shape (n_rows,)
            In copy ``k``, row ``i`` gets every group feature's value of row
            ``permutations[k][i]``, as in ``values[permutations[k]][:, feature_indices]``.

        Returns
        -------
        ndarray of shape (len(permutations), n_rows)
            Row ``k`` equals ``model.predict_proba(copy_k)[:, 1]`` bit for bit.

        Notes
        -----
        A group's values move together, so a leaf is no longer a step function of one
        number: each (tree, row) pair whose path splits on a group feature is walked again
        from its first such split, reading the group's features from the source row.
        Every other pair keeps its leaf, as for one feature.
        """
        indices = sorted({int(index) for index in feature_indices})
        if len(indices) == 1:
            return self.permuted_probabilities(indices[0], permutations)
        orders = np.asarray(permutations, dtype=np.int64).reshape(-1, self.n_rows)
        in_group = self._feature_mask(indices)
        first_split = _first_splits(in_group, self._parent, self._nodes)
        crosses = first_split[self._leaves] >= 0
        row_start = np.concatenate([[0], np.cumsum(crosses.sum(axis=1))])
        pair_tree = np.nonzero(crosses)[1]
        pair_start = first_split[self._leaves[crosses]]
        # sources[i, k]: the row whose group values row i gets in copy k.
        sources = np.ascontiguousarray(orders.T)
        slot_of = np.full(self._values.shape[1], -1, dtype=np.int64)
        slot_of[indices] = np.arange(len(indices))
        group_values = np.ascontiguousarray(self._values[:, indices])
        sums = _group_permuted_sums(
            self._values, slot_of, group_values, sources, row_start, pair_tree, pair_start,
            self._leaf_values, self._prefix_sums, self._nodes, self._threshold, self._leaf_value,
            self._max_depth,
        )  # fmt: skip
        self.n_tree_evaluations += len(orders) * len(pair_tree)
        self.n_tree_evaluations_stacked += len(orders) * self.n_trees * self.n_rows
        return np.ascontiguousarray(sums.T) / self.n_trees

    def _feature_mask(self, feature_indices) -> np.ndarray:
        mask = np.zeros(self._values.shape[1], dtype=np.bool_)
        mask[list(feature_indices)] = True
        return mask


@numba.njit(cache=True)
def _step(node, value, nodes, threshold):
    """The child of ``node`` that ``value`` goes to, as in scikit-learn's ``Tree.apply``.

    NaN follows the node's missing-value side; otherwise go left when the float32 value,
    widened to float64, is <= the threshold.
    """
    if np.isnan(value):
        go_left = nodes[node, _MISSING_LEFT] != 0
    else:
        go_left = value <= threshold[node]
    return nodes[node, _LEFT] if go_left else nodes[node, _RIGHT]


@numba.njit(cache=True)
def _descend(node, row, values, feature_index, permuted, nodes, threshold):
    """The leaf reached from ``node``, reading ``permuted`` for the permuted feature."""
    while nodes[node, _LEFT] != _LEAF:
        feature = nodes[node, _FEATURE]
        value = permuted if feature == feature_index else values[row, feature]
        node = _step(node, value, nodes, threshold)
    return node


@numba.njit(cache=True)
def _first_splits(in_group, parent, nodes):
    """For every leaf, the first split on a feature of the group (``in_group[feature]``)
    along its path from the root, or -1."""
    n_nodes = parent.shape[0]
    first_split = np.empty(n_nodes, dtype=np.int64)
    for leaf in range(n_nodes):
        first_split[leaf] = -1
        if nodes[leaf, _LEFT] != _LEAF:
            continue
        node = parent[leaf]
        while node >= 0:
            if in_group[nodes[node, _FEATURE]]:
                first_split[leaf] = node  # the last one met going up is the first from the root
            node = parent[node]
    return first_split


@numba.njit(cache=True)
def _doubled(array):
    """A copy of a float64 array, twice as long."""
    longer = np.empty(2 * array.shape[0])
    for k in range(array.shape[0]):  # a loop compiles much faster than a slice assignment
        longer[k] = array[k]
    return longer


@numba.njit(cache=True)
def _pieces(feature_index, row_start, pair_leaf, first_split, values, nodes, threshold,
            leaf_value, max_depth):  # fmt: skip
    """Each pair's leaf value as a step function of the permuted feature's value.

    From the path's first split on the feature, both branches of every split on it are
    followed and the row's own direction at every other split, left first, so the leaves
    come out in increasing order of the feature. Piece ``m`` of pair ``p`` covers
    ``breakpoints[b + m - 1] < x <= breakpoints[b + m]`` with ``b = piece_start[p] - p``
    (open at both ends) and has the value ``piece_value[piece_start[p] + m]``.
    """
    n_pairs = pair_leaf.shape[0]
    piece_start = np.zeros(n_pairs + 1, dtype=np.int64)
    # Most pairs have two to four pieces; the arrays grow when they need to.
    breakpoints = np.empty(2 * n_pairs + 1)
    piece_value = np.empty(3 * n_pairs + 1)
    stack_node = np.empty(max_depth + 2, dtype=np.int64)
    stack_low = np.empty(max_depth + 2)
    stack_high = np.empty(max_depth + 2)
    for i in range(row_start.shape[0] - 1):
        for p in range(row_start[i], row_start[i + 1]):
            n_stack = 1
            stack_node[0] = first_split[pair_leaf[p]]
            stack_low[0], stack_high[0] = -np.inf, np.inf
            n_pieces = 0
            while n_stack > 0:
                n_stack -= 1
                node = stack_node[n_stack]
                low, high = stack_low[n_stack], stack_high[n_stack]
                while nodes[node, _LEFT] != _LEAF:
                    feature = nodes[node, _FEATURE]
                    if feature != feature_index:
                        node = _step(node, values[i, feature], nodes, threshold)
                        continue
                    # The feature's range here is (low, high]; a split outside it (after a
                    # missing-value split) leaves one branch that no value reaches.
                    split = threshold[node]
                    if split >= high:
                        node = nodes[node, _LEFT]
                    elif split <= low:
                        node = nodes[node, _RIGHT]
                    else:
                        # Left now; the right branch, above the threshold, waits its turn.
                        stack_node[n_stack] = nodes[node, _RIGHT]
                        stack_low[n_stack], stack_high[n_stack] = split, high
                        n_stack += 1
                        node, high = nodes[node, _LEFT], split
                piece = piece_start[p] + n_pieces
                if piece == piece_value.shape[0]:
                    piece_value = _doubled(piece_value)
                piece_value[piece] = leaf_value[node]
                if n_pieces > 0:
                    if piece - p - 1 == breakpoints.shape[0]:
                        breakpoints = _doubled(breakpoints)
                    breakpoints[piece - p - 1] = low
                n_pieces += 1
            piece_start[p + 1] = piece_start[p] + n_pieces
    return piece_start, breakpoints, piece_value


@numba.njit(cache=True)
def _permuted_sums(
    values, feature_index, permuted, row_start, pair_tree, pair_leaf, first_split, piece_start,
    breakpoints, piece_value, leaf_values, prefix_sums, nodes, threshold, leaf_value,
):  # fmt: skip
    """Every copy's sum of the trees' leaf values, ``(n_rows, n_copies)``.

    ``permuted[i, k]`` is row ``i``'s value of the feature in copy ``k``. Row by row, all
    copies at once: a row's sums and values stay in cache, and the piece search has the same
    length for every copy.
    """
    n_rows, n_copies = permuted.shape
    n_trees = leaf_values.shape[1]
    sums = np.empty((n_rows, n_copies))
    piece = np.empty(n_copies, dtype=np.int64)
    has_nan = False
    for i in range(n_rows):
        has_nan = has_nan or np.isnan(values[i, feature_index])
    for i in range(n_rows):
        total = sums[i]
        start, stop = row_start[i], row_start[i + 1]
        # No tree moves the row before its first pair: start from the baseline's partial sum.
        first_tree = pair_tree[start] if start < stop else n_trees
        for k in range(n_copies):
            total[k] = prefix_sums[i, first_tree]
        p = start
        for t in range(first_tree, n_trees):
            if p < stop and pair_tree[p] == t:
                # Piece of each copy's value: how many breakpoints it exceeds. One
                # breakpoint at a time over all copies, which the compiler vectorises.
                for k in range(n_copies):
                    piece[k] = piece_start[p]
                for b in range(piece_start[p] - p, piece_start[p + 1] - p - 1):
                    edge = breakpoints[b]
                    for k in range(n_copies):
                        piece[k] += permuted[i, k] > edge
                for k in range(n_copies):
                    x = permuted[i, k]
                    if has_nan and np.isnan(x):
                        leaf = _descend(
                            first_split[pair_leaf[p]], i, values, feature_index, x, nodes,
                            threshold,
                        )  # fmt: skip
                        total[k] += leaf_value[leaf]
                    else:
                        total[k] += piece_value[piece[k]]
                p += 1
            else:
                value = leaf_values[i, t]
                for k in range(n_copies):
                    total[k] += value
    return sums


@numba.njit(cache=True)
def _group_permuted_sums(values, slot_of, group_values, sources, row_start, pair_tree, pair_start,
                         leaf_values, prefix_sums, nodes, threshold, leaf_value, max_depth):  # fmt: skip
    """Every copy's sum of the trees' leaf values when a group of features moves together.

    ``sources[i, k]`` is the row whose group features row ``i`` reads in copy ``k``;
    ``group_values[source, slot_of[feature]]`` is that value (``slot_of`` is -1 outside
    the group). A pair (tree, row) that splits on the group is walked from ``pair_start``,
    its first such split, all copies one level at a time: the walks are independent, so
    the processor overlaps their memory reads instead of waiting on one branch at a time.
    """
    n_rows, n_copies = sources.shape
    n_trees = leaf_values.shape[1]
    sums = np.empty((n_rows, n_copies))
    current = np.empty(n_copies, dtype=np.int64)
    has_nan = False
    for i in range(group_values.shape[0]):
        for s in range(group_values.shape[1]):
            has_nan = has_nan or np.isnan(group_values[i, s])
    for i in range(n_rows):
        total = sums[i]
        start, stop = row_start[i], row_start[i + 1]
        first_tree = pair_tree[start] if start < stop else n_trees
        for k in range(n_copies):
            total[k] = prefix_sums[i, first_tree]
        p = start
        for t in range(first_tree, n_trees):
            if p < stop and pair_tree[p] == t:
                for k in range(n_copies):
                    current[k] = pair_start[p]
                for _ in range(max_depth):
                    for k in range(n_copies):
                        node = current[k]
                        feature = nodes[node, _FEATURE]
                        if feature < 0:  # a leaf: this walk is over
                            continue
                        slot = slot_of[feature]
                        x = group_values[sources[i, k], slot] if slot >= 0 else values[i, feature]
                        if has_nan:
                            current[k] = _step(node, x, nodes, threshold)
                        elif x <= threshold[node]:
                            current[k] = nodes[node, _LEFT]
                        else:
                            current[k] = nodes[node, _RIGHT]
                for k in range(n_copies):
                    total[k] += leaf_value[current[k]]
                p += 1
            else:
                value = leaf_values[i, t]
                for k in range(n_copies):
                    total[k] += value
    return sums
