import numpy as np
import pytest
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score

from medinterp.metrics import cindex
from tests.cindex_reference import quadratic_cindex  # the course's pairwise loop


@pytest.mark.parametrize("seed", range(5))
def test_matches_lifelines_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    n = 5000
    y = rng.integers(0, 2, n)
    scores = rng.integers(0, 20, n) + 3 * y * rng.random(n).round(1)  # heavy ties, some signal
    assert cindex(y, scores) == pytest.approx(concordance_index(y, scores), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_equals_roc_auc_for_a_binary_label(seed):
    """For a 0/1 outcome the c-index is the Mann-Whitney U statistic, i.e. ROC AUC."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 3000)
    scores = rng.integers(0, 30, 3000) / 30 + 0.3 * y * rng.random(3000)  # ties and signal
    assert cindex(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_matches_pairwise_reference(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    scores = rng.integers(0, 6, 60).astype(float)
    assert cindex(y, scores) == pytest.approx(quadratic_cindex(y, scores), abs=1e-12)


def test_known_values():
    y = np.array([0, 0, 1, 1])
    assert cindex(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert cindex(y, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert cindex(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    # Pairs (pos, neg): (0.3,0.1) win, (0.3,0.3) tie, (0.2,0.1) win, (0.2,0.3) loss.
    assert cindex(y, [0.1, 0.3, 0.3, 0.2]) == pytest.approx(2.5 / 4)
    assert cindex([False, True], [1, 2]) == 1.0


def test_same_outcome_pairs_are_not_permissible():
    # Adding a negative scored above all positives changes C; reordering negatives does not.
    y = np.array([0, 0, 0, 1])
    assert cindex(y, [0.1, 0.2, 0.3, 0.9]) == cindex(y, [0.3, 0.1, 0.2, 0.9]) == 1.0


@pytest.mark.parametrize(
    ("y", "scores", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "different lengths"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0.0, np.nan, 1.0], [0.1, 0.2, 0.3], "NaN"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "binary"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "single outcome"),
        ([0, 0], [0.1, 0.2], "no permissible pairs"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "infinite"),
        (
            list(range(10_000)),
            list(range(10_000)),
            r"10000 distinct values: 0, 1, 2, 3, 4, \.\.\.$",
        ),
    ],
)
def test_bad_input(y, scores, message):
    with pytest.raises(ValueError, match=message) as raised:
        cindex(y, scores)
    assert len(str(raised.value)) < 200  # a continuous "label" once gave 21,576 characters
