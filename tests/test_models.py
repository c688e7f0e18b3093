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


def test_forest_names_a_table_with_infinities_or_no_columns(nhanes_split):
    import pytest

    X_dev, _, y_dev, _ = nhanes_split
    broken = X_dev.copy()
    broken.iloc[3, broken.columns.get_loc("Systolic BP")] = np.inf
    with pytest.raises(ValueError, match=r"X_dev holds 1 NaN or infinite.*\['Systolic BP'\]"):
        nhanes_forest(broken, y_dev)
    with pytest.raises(TypeError, match="X_dev must be a pandas DataFrame"):
        nhanes_forest(X_dev.to_numpy(), y_dev)
    assert np.isfinite(X_dev.to_numpy()).all()  # nothing changed behind the caller's back


def test_forest_refuses_survival_times_as_labels(nhanes_split):
    import pytest

    X_dev, _, y_dev, _ = nhanes_split
    survival_times = np.where(y_dev == 1, 4.5, -12.25)
    with pytest.raises(ValueError, match=r"y_dev must hold 0/1 labels.*-12\.25.*survival times"):
        nhanes_forest(X_dev, survival_times)
    with pytest.raises(ValueError, match="y_dev must be a 1-D sequence of 0/1"):
        nhanes_forest(X_dev, np.c_[y_dev, y_dev])
    assert nhanes_forest(X_dev, y_dev.astype(bool)).n_estimators == 100  # True/False is 0/1
