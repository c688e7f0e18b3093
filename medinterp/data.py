"""Where the package's data lives: hash-checked remote files, the NHANES I loader, and the
folder of files shipped with the package (:func:`assets_dir`).

Every remote file has a pinned URL and a sha256 in :data:`REGISTRY`. Files are downloaded
with pooch into the user's cache directory the first time they are needed. When the
environment variable ``MEDINTERP_DATA_DIR`` is set, the NHANES files are read from that folder
instead and nothing is ever downloaded (tests and CI work this way). The NIH ChestX-ray14
sample radiographs (``00000075_000.png`` ...) are read from the ``images/`` folder of
``MEDINTERP_CXR_SAMPLES_DIR`` the same way.
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
    "load_nhanes_survival",
    "RemoteFile",
    "REGISTRY",
    "NIH_SAMPLE_IMAGES",
    "DataHashError",
    "DataUnavailableError",
]

DATA_DIR_ENV = "MEDINTERP_DATA_DIR"
CXR_SAMPLES_DIR_ENV = "MEDINTERP_CXR_SAMPLES_DIR"
CACHE_DIR_ENV = "MEDINTERP_CACHE_DIR"

_SHAP_COMMIT = "df974a1966294b9c7acebb1373fd6dc5445d1d3d"
_SHAP_DATA_URL = f"https://raw.githubusercontent.com/shap/shap/{_SHAP_COMMIT}/data/"
# NIH ChestX-ray14 test-set images as carried by jrzech/reproduce-chexnet (its demo sample).
_CHEXNET_COMMIT = "a011a9ab108cb03a533aeab52dc934b02a823ac8"
_CHEXNET_IMAGES_URL = (
    f"https://raw.githubusercontent.com/jrzech/reproduce-chexnet/{_CHEXNET_COMMIT}/starter_images/"
)
_NIH_SAMPLE_SHA256 = {
    "00000075_000.png": "c8dc36f5ee35f9682b10e285943a6fc25adc9b9cb3c0044a5290567ff921f49b",
    "00000129_000.png": "91634844c935cef9dd465c44fa2d929741ada8aadaac0318d68fac4676c5b089",
    "00000211_000.png": "01bc76380fd185cb4b33d4913293f2f621e602c6b7d10b81229c05aa6753e481",
    "00000284_000.png": "88fabd5c87a9a48902094ce68aab933d91302b80cc6d17da3bb7a4673d288441",
    "00000353_000.png": "1a65006356eae9e1a5d838341c8b083317eced155800941e275c5037d7bff7cb",
    "00000427_000.png": "e2cf8fbd4a356fc85a7e1e3d912530aa87b0e29d0a2951777a4e067305adcea1",
    "00000550_000.png": "246b5511b2e160949af1234c1b437325a625ab69fc4198f09d6e817c94331058",
    "00000801_000.png": "7e8f67bba3eda321c89c52ebe6333a104d77008e077f2e26cb102e15ab565a35",
    "00000889_000.png": "e080648002767641aa7d986df89acdfc811a9ccdf380f5cb1e80f6f08ac9327d",
    "00000924_000.png": "97b5fab4ce094150956f9cb180340d46bc861d964f70fa5168adec53ac701530",
    "00001021_000.png": "c5b701bc6a81cfb65c94113f1a301f0d5a7a13ca0589971989676a5947d9a6fc",
    "00001063_000.png": "676cf724d97c647f94c64f53c22e796d468cb45a0e5c667d72b927e956deeb27",
    "00001089_000.png": "a641346115dda145f175df7dd188e17c4f69a554f346f6f679fe0fa33158d20a",
    "00001166_000.png": "73caeea3a67e1c8e1e9970025012741be156c37964ade9dc9c6728b98dc1ce4d",
    "00001698_000.png": "451673834c5cc10a3333fc9e97df47e46ef53403fde3b3f00e0ed2d35fe359b3",
    "00001968_000.png": "7432f820ac16e399b9169a5ddb18f0415b548b0f87cc4f9fdf0188beaab297ac",
    "00001998_000.png": "131ba0381a4e29bdb143cc7d3202123dd4bd52c2356b023435186f4eec49fe52",
    "00002454_000.png": "351cb9fa63326a365489cee87f2d47f43748e312efd327bbca06e09a4786eb19",
    "00002611_000.png": "bead70a9910bf4f188ed85a299a8c147e30ae75237ca615fd6041117353bb388",
    "00003272_000.png": "c72d6f2d75c3ae6236126ed1714620dfe4917f5908753c54bb0c176ff3a1843d",
    "00003421_000.png": "8c1dc63735fd66487b502ead9342145c6033fa10483000302d4eefccbaf0ff11",
    "00004094_000.png": "abf0b8bc98d4937b6fcce10fb8716974b0dc0074ba871b1671388f16c6b94c08",
    "00004387_000.png": "06e97b74f9f6568277ace698f50d2dfba812f035a393ef49a96cd66cd81f58ac",
    "00004738_000.png": "8d2152f194849ebf673b5d907cc0adb441c01dd16a59dbc8b68975a7ed583739",
    "00004979_000.png": "6b0d6d589814205f5b879fb8f8675930eab37e56e81c9fd6e2304b432960d90d",
    "00005986_000.png": "d44feea1ebb34ff37e7bdc16548870cf709c5d5be112cce4bbef39e1580b03ec",
    "00007494_000.png": "ffdfd84017b0b3ffef2bb6dd8e08f37fb12e688f2157471436b3aebbbfed8993",
    "00011261_000.png": "8648f70161bdb422f711a92f8aecf2d394fcaf2e31176710da95e40d5c6ba1b6",
    "00014250_000.png": "84348946f60da69c91768fae1a39a6e9f85c9467a71dc84a5b5a26aab09af06e",
    "00022084_000.png": "fd3c0d4857f2802c2f82c27a7a69ee601fbdd959c1e8566b71948e1d285a4d1c",
}


@dataclass(frozen=True)
class RemoteFile:
    """A file the package knows how to fetch: where it lives and what it must hash to."""

    name: str
    url: str
    sha256: str
    #: The environment variable naming a local folder to read the file from instead.
    local_env: str = DATA_DIR_ENV
    #: The file's sub-folder inside that local folder.
    local_subdir: str = ""


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
        *(
            RemoteFile(name, _CHEXNET_IMAGES_URL + name, sha256, CXR_SAMPLES_DIR_ENV, "images")
            for name, sha256 in _NIH_SAMPLE_SHA256.items()
        ),
    )
}
#: The registered NIH ChestX-ray14 sample radiographs (1024x1024 PNG, frontal PA view).
NIH_SAMPLE_IMAGES = tuple(_NIH_SAMPLE_SHA256)


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
        The verified file, from its local folder when that folder's environment variable is
        set (``MEDINTERP_DATA_DIR`` for NHANES, ``MEDINTERP_CXR_SAMPLES_DIR``'s ``images/``
        for the NIH radiographs), else from the cache (downloading it first if needed).

    Raises
    ------
    ValueError
        ``name`` is not registered; the message lists the registered names.
    FileNotFoundError
        The file's local folder variable is set but the folder does not hold the file.
    DataHashError
        The file's sha256 does not match the pinned value; the file is not used.
    DataUnavailableError
        The file is not cached and could not be downloaded (for example, offline).
    """
    if name not in REGISTRY:
        raise ValueError(f"Unknown data file {name!r}. Registered files: {sorted(REGISTRY)}")
    remote = REGISTRY[name]
    local_dir = os.environ.get(remote.local_env)
    if local_dir:
        folder = Path(local_dir) / remote.local_subdir
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{name} is not in {folder} ({remote.local_env} points to {local_dir}). "
                f"Put the file there, or unset {remote.local_env} to download it from "
                f"{remote.url}."
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
            f"set {remote.local_env} to the folder that holds it"
            + (f" in {remote.local_subdir}/." if remote.local_subdir else ".")
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


def load_nhanes_survival(
    test_size: float = 0.2, random_state: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, pd.Series, pd.Series]:
    """NHANES I as survival data: every person's follow-up time and whether they died.

    :func:`load_nhanes` turns follow-up into "died within 10 years" and must drop everyone
    censored before 10 years (their label is unknown). Survival analysis keeps them: a
    person alive at their last contact tells us they lived at least that long.

    The recipe: drop the 382 rows with ``y == 0`` (no documented meaning, see
    :func:`load_nhanes`), drop rows with any missing feature, then
    ``train_test_split(test_size, random_state)``. Feature values are as published, sentinel
    codes included (``Poverty index == 999``, ``Red blood cells`` 77.7 and 88.8), as in
    :func:`load_nhanes`.

    Parameters
    ----------
    test_size : float in (0, 1), default=0.2
    random_state : int, default=10

    Returns
    -------
    X_dev, X_test : pandas.DataFrame
        The 18 features.
    time_dev, time_test : pandas.Series of float, named ``time``
        Years from the examination to death or to the last contact (``|y|``).
    event_dev, event_test : pandas.Series of bool, named ``event``
        True when the person died at ``time``; False when censored (alive at ``time``).
    """
    _check_number(test_size, "test_size")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a share strictly between 0 and 1, got {test_size}")
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be an integer, got {random_state!r}")
    X, y = load_nhanes_raw()
    keep = (y != 0) & X.notna().all(axis=1)
    X, y = X[keep], y[keep]
    time = y.abs().rename("time")
    event = (y > 0).rename("event")
    X_dev, X_test, time_dev, time_test, event_dev, event_test = train_test_split(
        X, time, event, test_size=test_size, random_state=random_state
    )
    return X_dev, X_test, time_dev, time_test, event_dev, event_test


def _check_number(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
