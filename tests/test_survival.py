"""Survival data, Harrell's and Uno's C, and the Cox model.

Wrong implementations these tests reject: counting pairs whose shorter time is censored;
comparing two deaths at the same time; leaving a death and a censoring at the same time
out; counting a tie in risk as 0 or 1; the lifelines sign (higher = longer survival);
weighting Uno's pairs by 1/G instead of 1/G^2, or estimating G on the test data.
"""

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from medinterp.importance import permutation_importance
from medinterp.metrics import harrell_c, uno_c
from medinterp.survival import CoxRiskModel, add_censoring, harrell_c_score, survival_target
from tests.cindex_reference import quadratic_harrell_c


def tied_data(n, seed):
    """Times and risks on coarse grids: many ties in both."""
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 30, n).astype(float)
    event = rng.random(n) < 0.45
    risk = rng.integers(0, 12, n) / 4 - time / 8  # exact in binary: ties stay ties
    return time, event, risk


@pytest.mark.parametrize("n", [2, 7, 60, 500, 5000])
def test_harrell_c_equals_lifelines_and_scikit_survival_with_ties(n):
    time, event, risk = tied_data(n, seed=n)
    event[0] = True
    time[0] = time.min() - 1 if n > 1 else time[0]
    c = harrell_c(time, event, risk)
    assert c == pytest.approx(concordance_index(time, -risk, event), abs=1e-9)
    assert c == pytest.approx(concordance_index_censored(event, time, risk)[0], abs=1e-9)
    if n <= 500:
        assert c == pytest.approx(quadratic_harrell_c(time, event, risk), abs=1e-12)


def test_harrell_c_by_hand():
    # A dies at 1 (risk 3), B censored at 2 (risk 5), C dies at 2 (risk 1), D censored at 1
    # (risk 9). Comparable: A-B (A first: discordant), A-C (concordant), C-B? equal time, C
    # died and B censored: comparable, C lower risk: discordant. A-D: equal time, A died, D
    # censored: comparable, discordant. D and B: censored first, never comparable.
    time = [1, 2, 2, 1]
    event = [True, False, True, False]
    risk = [3, 5, 1, 9]
    assert harrell_c(time, event, risk) == pytest.approx(1 / 4)
    # Censored-first pairs are ignored: D's risk cannot matter, whatever it is.
    for other in (-100, 0, 2, 100):
        risk[3] = other if other != 3 else 2
        assert harrell_c(time, event, risk) == quadratic_harrell_c(time, event, risk)
    # Two deaths at the same time are not compared; a tie in risk counts one half.
    assert harrell_c([1, 1, 2], [1, 1, 0], [5, 1, 5]) == pytest.approx(0.5 / 2)


def test_harrell_c_sign_and_edge_cases():
    time, event = np.arange(1.0, 11.0), np.ones(10, bool)
    assert harrell_c(time, event, -time) == 1.0  # earlier death, higher risk
    assert harrell_c(time, event, time) == 0.0
    assert harrell_c(time, event, np.ones(10)) == 0.5
    # Inputs as lists, pandas with any index, 0/1 events; nothing changed.
    series = pd.Series(time, index=np.arange(100, 110))
    events = pd.Series(event.astype(int), index=series.index)
    before = series.copy()
    assert harrell_c(series, events, list(-time)) == 1.0
    pd.testing.assert_series_equal(series, before)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1, 2], [1, 0], [1]), "same length"),
        (([1, np.nan], [1, 0], [1, 2]), "NaN"),
        (([1, 2], [1, 2], [1, 2]), "boolean or 0/1"),
        (([1, 2], [0, 0], [1, 2]), "no comparable pair"),
        (([2, 2], [1, 1], [1, 2]), "no comparable pair"),
        (([[1, 2]], [1, 0], [1, 2]), "1-D"),
        (([1, 2], [1, 0], ["a", "b"]), "numbers"),
    ],
)
def test_harrell_c_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        harrell_c(*args)


@pytest.mark.parametrize("tau", [None, 20.0, 8.0])
@pytest.mark.parametrize("n", [40, 3000])
def test_uno_c_equals_scikit_survival(n, tau):
    time_train, event_train, _ = tied_data(2 * n, seed=n + 1)
    time_test, event_test, risk = tied_data(n, seed=n + 2)
    time_train[0], event_train[0] = time_test.max() + 1, False  # G defined everywhere
    expected = concordance_index_ipcw(
        Surv.from_arrays(event_train, time_train), Surv.from_arrays(event_test, time_test),
        risk, tau=tau,
    )[0]  # fmt: skip
    got = uno_c(time_train, event_train, time_test, event_test, risk, tau=tau)
    assert got == pytest.approx(expected, abs=1e-9)


def test_uno_c_by_hand():
    # The probability of staying uncensored, G, from the training data:
    time_train = [1.0, 2.0, 2.0, 5.0]
    event_train = [True, True, False, False]
    # At 1: 4 at risk, 1 died, 0 censored -> G = 1. At 2: 3 at risk, 1 died first, 1 of the
    # remaining 2 censored -> G = 1/2. At 5: 1 at risk, censored -> G = 0.
    time_test = [1.0, 3.0, 4.0]
    event_test = [True, True, False]
    risk = [1.0, 2.0, 3.0]
    # Pairs: (1 died, 3) discordant, weight 1/G(1)^2 = 1; (1, 4) discordant, weight 1;
    # (3 died, 4) risk 2 < 3: discordant, weight 1/G(3)^2 = 4. -> 0 / 6.
    assert uno_c(time_train, event_train, time_test, event_test, risk) == 0.0
    risk = [3.0, 2.0, 1.0]  # every pair concordant
    assert uno_c(time_train, event_train, time_test, event_test, risk) == 1.0
    risk = [3.0, 0.0, 1.0]  # 2 of weight 1 concordant, the one of weight 4 not: 2 / 6
    assert uno_c(time_train, event_train, time_test, event_test, risk) == pytest.approx(1 / 3)
    # Harrell's C on the same pairs, unweighted: 2 / 3.
    assert harrell_c(time_test, event_test, risk) == pytest.approx(2 / 3)
    # tau = 2: only the death at 1 counts.
    assert uno_c(time_train, event_train, time_test, event_test, risk, tau=2) == 1.0


def test_uno_c_undefined_cases():
    with pytest.raises(ValueError, match="after the last training time"):
        uno_c([1.0, 2.0], [False, True], [1.0, 3.0, 4.0], [True, True, False], [3, 2, 1])
    with pytest.raises(ValueError, match="is 0 at a test death"):
        uno_c([1.0, 2.0], [False, False], [1.0, 3.0, 4.0], [True, True, False], [3, 2, 1])
    with pytest.raises(ValueError, match="positive"):
        uno_c([1.0, 5.0], [1, 0], [1.0, 3.0], [1, 0], [1, 2], tau=-1)
    with pytest.raises(ValueError, match="before tau"):
        uno_c([1.0, 5.0], [1, 0], [2.0, 3.0], [1, 0], [1, 2], tau=1.5)
    with pytest.raises(ValueError, match="time_train"):
        uno_c([1.0, np.nan], [1, 0], [2.0, 3.0], [1, 0], [1, 2])


def test_heavier_censoring_moves_harrell_not_uno():
    """Risk predicts early deaths well and late ones not at all: censoring that hides the
    late deaths lifts Harrell's C; Uno's weights give the late pairs back."""
    rng = np.random.default_rng(0)
    n = 4000
    risk = rng.normal(size=n)
    early = rng.exponential(1 / np.exp(risk))
    time = np.where(early < 1, early, 1 + rng.exponential(1, n))
    event = np.ones(n, bool)
    half = n // 2
    light = harrell_c(time[half:], event[half:], risk[half:])
    light_uno = uno_c(time[:half], event[:half], time[half:], event[half:], risk[half:], tau=2)
    t, e = add_censoring(time, event, upper=2.5, random_state=1)
    heavy = harrell_c(t[half:], e[half:], risk[half:])
    heavy_uno = uno_c(t[:half], e[:half], t[half:], e[half:], risk[half:], tau=2)
    assert heavy - light > 0.02
    assert abs(heavy_uno - light_uno) < abs(heavy - light) / 2


def test_add_censoring_only_shortens_and_censors():
    time, event = np.arange(1.0, 101.0), np.ones(100, bool)
    t, e = add_censoring(time, event, upper=50, random_state=0)
    assert (t <= time).all() and e.sum() < 50 and (t[~e] < time[~e]).all()
    assert np.array_equal(time, np.arange(1.0, 101.0))
    with pytest.raises(ValueError, match="upper"):
        add_censoring(time, event, upper=0)


def test_survival_target_layout_and_checks():
    y = survival_target([3.0, 1.0], [1, 0])
    assert y.dtype.names == ("event", "time") and y["event"].tolist() == [True, False]
    with pytest.raises(ValueError, match="finite"):
        survival_target([-1.0], [1])
    with pytest.raises(ValueError, match="0/1"):
        survival_target([1.0], [2])
    with pytest.raises(TypeError, match="survival_target"):
        harrell_c_score(np.array([1.0, 2.0]), [1, 2])


@pytest.fixture(scope="module")
def cox_problem():
    rng = np.random.default_rng(4)
    n = 800
    X = pd.DataFrame({"age": rng.normal(size=n), "noise": rng.normal(size=n)})
    time = rng.exponential(1 / np.exp(1.2 * X["age"]))
    censor = rng.exponential(2, n)
    y = survival_target(np.minimum(time, censor), time <= censor)
    return X, y


def test_cox_risk_ranks_as_the_hazard_and_permutation_importance_works(cox_problem):
    X, y = cox_problem
    model = CoxRiskModel(horizon=1).fit(X[:600], y[:600])
    probability, hazard = model.predict_proba(X[600:])[:, 1], model.predict_risk(X[600:])
    assert np.array_equal(np.argsort(probability), np.argsort(hazard))
    assert harrell_c_score(y[600:], probability) > 0.7
    importance = permutation_importance(X[600:], y[600:], model, harrell_c_score, 5, 0)
    assert importance.loc["importance", "age"] > 0.15
    assert abs(importance.loc["importance", "noise"]) < 0.01  # a column with no signal


def test_cox_risk_model_checks(cox_problem):
    from sklearn.base import clone

    X, y = cox_problem
    with pytest.raises(ValueError, match="not fitted"):
        CoxRiskModel().predict_proba(X)
    with pytest.raises(TypeError, match="survival target"):
        CoxRiskModel().fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="horizon"):
        CoxRiskModel(horizon=-1).fit(X, y)
    fitted = CoxRiskModel().fit(X, y)
    with pytest.raises(ValueError, match="columns"):
        fitted.predict_risk(X[["noise", "age"]])
    assert clone(fitted).get_params() == {"horizon": 10, "penalizer": 0.01}


def test_load_nhanes_survival_keeps_the_censored(nhanes_dir):
    from medinterp.data import load_nhanes_survival

    X_dev, X_test, time_dev, time_test, event_dev, event_test = load_nhanes_survival()
    assert len(X_dev) + len(X_test) == len(time_dev) + len(time_test) == 8247
    assert X_dev.shape[1] == 18 and not X_dev.isna().any().any()
    assert event_dev.dtype == bool and (~event_dev).sum() > 0 and (time_dev > 0).all()
    assert (time_dev[~event_dev] < 10).any()  # censored before 10 years: kept
    assert X_test.index.equals(time_test.index) and time_test.index.equals(event_test.index)
    again = load_nhanes_survival()
    pd.testing.assert_frame_equal(X_test, again[1])
    with pytest.raises(ValueError, match="test_size"):
        load_nhanes_survival(test_size=1.5)
