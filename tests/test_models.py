import numpy as np

from medinterp.metrics import cindex
from medinterp.models import NHANES_FOREST_PARAMS, nhanes_forest


def test_forest_reaches_target_cindex(nhanes_split, nhanes_model):
    _, X_test, _, y_test = nhanes_split
    assert cindex(y_test, nhanes_model.predict_proba(X_test)[:, 1]) >= 0.77
    assert nhanes_model.get_params()["max_depth"] == NHANES_FOREST_PARAMS["max_depth"]


def test_forest_is_deterministic_cached_and_not_shared(nhanes_split, nhanes_model):
    X_dev, X_test, y_dev, _ = nhanes_split
    again = nhanes_forest(X_dev, y_dev)
    assert again is not nhanes_model
    np.testing.assert_array_equal(again.predict_proba(X_test), nhanes_model.predict_proba(X_test))
    again.set_params(n_estimators=1)  # a caller changing its copy ...
    assert nhanes_forest(X_dev, y_dev).n_estimators == 100  # ... leaves the cache alone


def test_different_data_gives_a_different_forest(nhanes_split, nhanes_model):
    X_dev, X_test, y_dev, _ = nhanes_split
    other = nhanes_forest(X_dev.iloc[:3000], y_dev.iloc[:3000])
    assert not np.array_equal(other.predict_proba(X_test), nhanes_model.predict_proba(X_test))
