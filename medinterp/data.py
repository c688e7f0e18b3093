"""Where the package's data lives: hash-checked remote files, the NHANES I loader, and the
folder of files shipped with the package (:func:`assets_dir`).

Every remote file has a pinned URL and a sha256 in :data:`REGISTRY`. Files are downloaded
with pooch into the user's cache directory the first time they are needed. When the
environment variable ``MEDINTERP_DATA_DIR`` is set, files are read from that folder instead
and nothing is ever downloaded (tests and CI work this way).
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
import pooch
from sklearn.model_selection import train_test_split

__all__ = [
    "assets_dir",
    "cache_dir",
    "fetch",
    "load_nhanes",
    "load_nhanes_raw",
    "RemoteFile",
    "REGISTRY",
    "DataHashError",
    "DataUnavailableError",
]

DATA_DIR_ENV = "MEDINTERP_DATA_DIR"
CACHE_DIR_ENV = "MEDINTERP_CACHE_DIR"

_SHAP_COMMIT = "df974a1966294b9c7acebb1373fd6dc5445d1d3d"
_SHAP_DATA_URL = f"https://raw.githubusercontent.com/shap/shap/{_SHAP_COMMIT}/data/"


@dataclass(frozen=True)
class RemoteFile:
    """A file the package knows how to fetch: where it lives and what it must hash to."""

    name: str
    url: str
    sha256: str


REGISTRY = {
    f.name: f
    for f in (
        RemoteFile(
            "NHANESI_subset_X.csv",
            _SHAP_DATA_URL + "NHANESI_subset_X.csv",
            "cef5336deb83640da63adb3a36ddd436da49f685480c87a37c8b2959602bcb99",
        ),
        RemoteFile(
            "NHANESI_subset_y.csv",
            _SHAP_DATA_URL + "NHANESI_subset_y.csv",
            "a26b0d295c0bbad0aa8034be8598274e35bd43c98e5a25cfcb407453cae4d7aa",
        ),
    )
}


class DataHashError(ValueError):
    """A data file's content does not match its pinned sha256."""


class DataUnavailableError(OSError):
    """A data file is neither cached nor downloadable."""


def assets_dir() -> Path:
    """The folder of files shipped inside the package: model weights, their metadata and model
    card, and the example phantoms. Read it freely; maintainer tools write to the repository's
    copy only when given that path explicitly."""
    return Path(str(resources.files("medinterp") / "assets"))


def cache_dir() -> Path:
    """Folder where downloaded files are kept (``MEDINTERP_CACHE_DIR`` overrides it)."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else Path(pooch.os_cache("medinterp"))


def fetch(name: str) -> Path:
    """Return a local, hash-verified path to the registered file ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.

    Returns
    -------
    pathlib.Path
        The verified file, from ``MEDINTERP_DATA_DIR`` when it is set, else from the cache
        (downloading it first if needed).

    Raises
    ------
    ValueError
        ``name`` is not registered; the message lists the registered names.
    FileNotFoundError
        ``MEDINTERP_DATA_DIR`` is set but does not hold the file.
    DataHashError
        The file's sha256 does not match the pinned value; the file is not used.
    DataUnavailableError
        The file is not cached and could not be downloaded (for example, offline).
    """
    if name not in REGISTRY:
        raise ValueError(f"Unknown data file {name!r}. Registered files: {sorted(REGISTRY)}")
    remote = REGISTRY[name]
    local_dir = os.environ.get(DATA_DIR_ENV)
    if local_dir:
        path = Path(local_dir) / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{name} is not in {local_dir} ({DATA_DIR_ENV} points there). "
                f"Put the file there, or unset {DATA_DIR_ENV} to download it from {remote.url}."
            )
        _verify(path, remote)
        return path
    return _download(remote)


def _verify(path: Path, remote: RemoteFile) -> None:
    actual = pooch.file_hash(str(path), alg="sha256")
    if actual != remote.sha256:
        raise DataHashError(
            f"{path} does not match its pinned sha256 and was not used.\n"
            f"  expected: {remote.sha256}\n  got:      {actual}\n"
            f"Delete it and fetch it again from {remote.url}."
        )


def _download(remote: RemoteFile) -> Path:
    try:
        # pooch re-downloads a cached copy whose hash is wrong, and rejects a download
        # whose hash is wrong before it lands in the cache.
        path = pooch.retrieve(
            remote.url,
            known_hash=f"sha256:{remote.sha256}",
            fname=remote.name,
            path=cache_dir(),
            progressbar=False,
        )
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise DataHashError(
            f"The download of {remote.name} from {remote.url} does not match its pinned "
            f"sha256 and was discarded: {error}"
        ) from None
    except OSError as error:  # requests' connection errors are OSErrors too
        raise DataUnavailableError(
            f"Could not download {remote.name} from {remote.url} ({type(error).__name__}), "
            f"and it is not cached in {cache_dir()}. Offline? Download the file yourself and "
            f"set {DATA_DIR_ENV} to the folder that holds it."
        ) from None
    return Path(path)


def load_nhanes_raw() -> tuple[pd.DataFrame, pd.Series]:
    """The NHANES I subset as published: 9,932 rows, 18 features, signed survival time ``y``.

    ``y > 0``: died at time ``y`` (years); ``y < 0``: censored at ``|y|``; ``y == 0``: unknown.
    """
    X = pd.read_csv(fetch("NHANESI_subset_X.csv"), index_col=0)
    y = pd.read_csv(fetch("NHANESI_subset_y.csv"), index_col=0)["y"]
    return X, y


def load_nhanes(
    time_horizon: float = 10,
    keep_unknown_followup: bool = False,
    test_size: float = 0.2,
    random_state: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """NHANES I with the label "died within ``time_horizon`` years", split into dev and test.

    The recipe follows the course's: drop rows with any missing feature, keep people who
    died or were followed up for longer than the horizon (someone censored earlier has an
    unknown label), then ``train_test_split(test_size=0.2, random_state=10)``.

    Parameters
    ----------
    time_horizon : float, default=10
        Years. The label is 1 when the person died before this time.
    keep_unknown_followup : bool, default=False
        The 382 rows with ``y == 0`` have no documented meaning. They are young people
        (mean age 37), which points to missing follow-up rather than death at time 0, so by
        default they are excluded. ``True`` keeps them as deaths at time 0, as the original
        course recipe did (it inflates the positives by about a fifth).
    test_size : float, default=0.2
    random_state : int, default=10
        Passed to :func:`sklearn.model_selection.train_test_split`; the same call always
        gives the same split.

    Returns
    -------
    X_dev, X_test : pandas.DataFrame
        The 18 feature columns, named as in the data file. Values are as published: note
        the sentinel codes ``Poverty index == 999`` (unknown) and ``Red blood cells`` 77.7
        and 88.8 (NHANES "unacceptable" and "blank" codes), which tree models handle but
        which are not measurements.
    y_dev, y_test : pandas.Series
        0/1 integers named ``died_within_<horizon>y``.
    """
    _check_number(time_horizon, "time_horizon")
    _check_number(test_size, "test_size")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a share strictly between 0 and 1, got {test_size}")
    if not isinstance(keep_unknown_followup, bool):
        raise TypeError(
            f"keep_unknown_followup must be True or False, got {keep_unknown_followup!r}"
        )
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be an integer, got {random_state!r}")
    X, y = load_nhanes_raw()
    if not keep_unknown_followup:
        known = y != 0
        X, y = X[known], y[known]
    complete = X.notna().all(axis=1)
    X, y = X[complete], y[complete]
    time, died = y.abs(), y >= 0
    label_known = (time > time_horizon) | died
    X, time = X[label_known], time[label_known]
    label = (time < time_horizon).astype(int).rename(f"died_within_{time_horizon:g}y")
    if label.nunique() < 2:
        deaths = y[y > 0]
        raise ValueError(
            f"time_horizon={time_horizon} gives every person the same label. Choose a horizon "
            f"in years between the shortest and longest recorded death times, "
            f"{deaths.min():.2f} and {deaths.max():.2f}"
        )
    return tuple(train_test_split(X, label, test_size=test_size, random_state=random_state))


def _check_number(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
