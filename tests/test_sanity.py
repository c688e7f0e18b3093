"""The sanity check's pass/fail read-out (the maps themselves are tested in test_gradcam)."""

import pandas as pd
import pytest

from medinterp.sanity import THRESHOLD, sanity_verdict


def _table(*values):
    names = ["predictions", "bn", "conv3_block1_0_bn"][: len(values)]
    return pd.DataFrame({"spearman": values}, index=pd.Index(names, name="randomized_from"))


def test_verdict_reads_the_most_destroyed_model():
    similarity = _table(0.73, 0.52, -0.05)
    verdict = sanity_verdict(similarity)
    assert verdict["passed"].tolist() == [False, False, True]
    assert verdict.attrs["passed"] is True
    assert (verdict["threshold"] == THRESHOLD).all()
    assert list(similarity.columns) == ["spearman"]  # the caller's table is untouched
    # A map that survives the deepest randomisation fails, whatever happened higher up.
    assert sanity_verdict(_table(0.1, 0.2, 0.9)).attrs["passed"] is False
    # The threshold is the boundary: equal to it is not "changed".
    assert sanity_verdict(_table(0.5), threshold=0.5).attrs["passed"] is False
    assert sanity_verdict(_table(0.5), threshold=0.6).attrs["passed"] is True


@pytest.mark.parametrize(
    ("similarity", "threshold", "error", "message"),
    [
        (pd.DataFrame({"rho": [0.1]}), 0.5, TypeError, "spearman"),
        (_table(0.1).iloc[:0], 0.5, ValueError, "empty"),
        (_table(0.1), "0.5", TypeError, "threshold"),
        (_table(0.1), 1.5, ValueError, "threshold"),
    ],
)
def test_verdict_bad_input(similarity, threshold, error, message):
    with pytest.raises(error, match=message):
        sanity_verdict(similarity, threshold)
