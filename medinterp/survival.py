"""A survival model on NHANES that the importance functions can score: lifelines' Cox model
behind scikit-learn's ``fit`` / ``predict_proba``.

The course's forest predicts "died within 10 years" and must leave out everyone censored
before then. A Cox proportional-hazards model learns from every person's follow-up time,
censored or not: ``h(t | x) = h0(t) exp(x . beta)``. Its probability of dying within a
horizon, ``1 - S0(horizon) ** exp(x . beta)``, is a risk score that rises with the partial
hazard, so it ranks people exactly as the hazard does, and :mod:`medinterp.importance` can
use it like the forest's ``predict_proba``.

Survival targets are 1-D structured arrays with the fields ``event`` (bool) and ``time``
(float), scikit-survival's ``Surv`` layout, so that one ``y`` carries both and the
importance functions can pass it to :func:`harrell_c_score` unchanged.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from medinterp.metrics import harrell_c

__all__ = ["CoxRiskModel", "survival_target", "harrell_c_score", "add_censoring"]

_FIELDS = [("event", bool), ("time", float)]


def survival_target(time, event) -> np.ndarray:
    """One 1-D structured array with fields ``event`` and ``time`` (scikit-survival's layout).

    Raises
    ------
    ValueError
        Lengths differ, ``time`` has a NaN, infinite or negative value, or ``event`` is not
        boolean or 0/1.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event)
    if time.ndim != 1 or event.shape != time.shape:
        raise ValueError(
            f"time and event must be 1-D and of one length, got {time.shape} and {event.shape}"
        )
    if not np.isfinite(time).all() or (time < 0).any():
        raise ValueError("time must hold finite follow-up times >= 0")
    if event.dtype != bool and not np.isin(event, (0, 1)).all():
        raise ValueError("event must be boolean or 0/1 (1 = died at time)")
    target = np.empty(len(time), dtype=_FIELDS)
    target["event"], target["time"] = event.astype(bool), time
    return target


def add_censoring(time, event, upper: float, random_state=None):
    """Heavier censoring, simulated: each person is also censored at a time drawn uniformly
    in ``(0, upper)``, independently of everything else.

    Someone whose drawn time comes before their own follow-up time is now censored there.
    A smaller ``upper`` censors more. Independent censoring is what Harrell's and Uno's C
    both assume; only Uno's corrects for how much of it there is.

    Returns
    -------
    time, event : ndarray
        ``min(time, drawn)`` and ``event & (time <= drawn)``; the inputs are not changed.
    """
    if isinstance(upper, bool) or not isinstance(upper, Real) or not 0 < upper < np.inf:
        raise ValueError(f"upper must be a positive, finite time, got {upper!r}")
    target = survival_target(time, event)
    drawn = np.random.default_rng(random_state).uniform(0, upper, len(target))
    return np.minimum(target["time"], drawn), target["event"] & (target["time"] <= drawn)


def harrell_c_score(y, risk) -> float:
    """:func:`medinterp.metrics.harrell_c` as a ``metric(y_true, scores)`` for the importance
    functions: ``y`` a :func:`survival_target`, ``risk`` higher for an earlier death."""
    y = _checked_target(y)
    return harrell_c(y["time"], y["event"], risk)


def _checked_target(y) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.names is None or not {"event", "time"} <= set(y.dtype.names):
        raise TypeError(
            "y must be a survival target with fields 'event' and 'time': "
            "survival_target(time, event)"
        )
    return y


class CoxRiskModel(BaseEstimator):
    """lifelines' ``CoxPHFitter`` as a scikit-learn estimator of the risk of dying by a horizon.

    Parameters
    ----------
    horizon : float, default=10
        Years: ``predict_proba(X)[:, 1]`` is the probability of dying within them.
    penalizer : float >= 0, default=0.01
        lifelines' ridge penalty on the coefficients (standardised features); a little keeps
        the fit stable when features are collinear, as NHANES's blood pressures are.

    Attributes
    ----------
    fitter_ : lifelines.CoxPHFitter
        The fitted model (``fitter_.summary`` has the hazard ratios).
    feature_names_in_ : ndarray of str
    """

    def __init__(self, horizon: float = 10, penalizer: float = 0.01):
        self.horizon = horizon
        self.penalizer = penalizer

    def fit(self, X: pd.DataFrame, y):
        """Fit on ``X`` and ``y = survival_target(time, event)``."""
        from lifelines import CoxPHFitter

        for name in ("horizon", "penalizer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        y = _checked_target(y)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
        frame = X.reset_index(drop=True).assign(_time=y["time"], _event=y["event"])
        self.fitter_ = CoxPHFitter(penalizer=self.penalizer).fit(
            frame, duration_col="_time", event_col="_event"
        )
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([False, True])
        return self

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """The partial hazard ``exp((x - mean) . beta)``: higher means an earlier death."""
        X = self._checked(X)
        return np.asarray(self.fitter_.predict_partial_hazard(X), dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``[[P(alive at horizon), P(died by horizon)], ...]`` for every row of ``X``."""
        X = self._checked(X)
        survival = self.fitter_.predict_survival_function(X, times=[self.horizon])
        alive = survival.to_numpy(dtype=float)[0]
        return np.column_stack([alive, 1 - alive])

    def _checked(self, X):
        if not hasattr(self, "fitter_"):
            raise ValueError("this CoxRiskModel is not fitted yet: call fit(X, y) first")
        if not isinstance(X, pd.DataFrame) or list(X.columns) != list(self.feature_names_in_):
            raise ValueError(
                f"X must be a DataFrame with the columns the model was fitted on, "
                f"{list(self.feature_names_in_)}"
            )
        return X
