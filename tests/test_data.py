import functools
import http.server
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from medinterp import data
from medinterp.data import DataHashError, DataUnavailableError, fetch, load_nhanes

FEATURES = [
    "Age", "Diastolic BP", "Poverty index", "Race", "Red blood cells", "Sedimentation rate",
    "Serum Albumin", "Serum Cholesterol", "Serum Iron", "Serum Magnesium", "Serum Protein",
    "Sex", "Systolic BP", "TIBC", "TS", "White blood cells", "BMI", "Pulse pressure",
]  # fmt: skip


@pytest.fixture(scope="module")
def split(nhanes_dir):
    return load_nhanes()


def test_split_shapes_columns_and_labels(split):
    X_dev, X_test, y_dev, y_test = split
    # 9,932 rows - 382 unknown follow-up - rows with NaN - censored before 10 years.
    assert (len(X_dev), len(X_test)) == (6586, 1647)
    assert list(X_dev.columns) == FEATURES == list(X_test.columns)
    assert X_dev.index.equals(y_dev.index) and X_test.index.equals(y_test.index)
    assert not X_dev.isna().any().any()
    assert set(y_dev.unique()) == {0, 1}
    assert y_dev.name == "died_within_10y"
    prevalence = pd.concat([y_dev, y_test]).mean()
    assert prevalence == pytest.approx(1279 / 8233)


def test_unknown_followup_rows_excluded_by_default_and_kept_on_request(nhanes_dir):
    X_raw, y_raw = data.load_nhanes_raw()
    unknown = set(y_raw.index[y_raw == 0])
    assert len(unknown) == 382
    X_dev, X_test, _, _ = load_nhanes()
    assert not unknown & set(X_dev.index) | set(X_test.index) & unknown
    X_dev, X_test, y_dev, y_test = load_nhanes(keep_unknown_followup=True)
    # The course's recipe: 8,579 rows, 1,625 positives, dev 6,863 and test 1,716.
    assert (len(X_dev), len(X_test)) == (6863, 1716)
    assert y_dev.sum() + y_test.sum() == 1625
    kept_unknown = unknown & (set(X_dev.index) | set(X_test.index))
    labels = pd.concat([y_dev, y_test])
    assert kept_unknown and (labels[list(kept_unknown)] == 1).all()


def test_label_follows_time_horizon(nhanes_dir):
    _, y_raw = data.load_nhanes_raw()
    X_dev, X_test, y_dev, y_test = load_nhanes(time_horizon=5)
    labels = pd.concat([y_dev, y_test])
    times = y_raw[labels.index]
    assert ((labels == 1) == ((times > 0) & (times < 5))).all()
    # Censored before the horizon: label unknown, so the row is dropped.
    assert not ((times < 0) & (times.abs() <= 5)).any()


def test_split_is_deterministic(split):
    again = load_nhanes()
    for first, second in zip(split, again, strict=True):
        assert first.index.equals(second.index)
        assert first.equals(second)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"time_horizon": 0}, ValueError, "same label"),
        ({"time_horizon": float("nan")}, ValueError, "finite"),  # once: every label 0
        ({"time_horizon": 100}, ValueError, "same label"),  # once: every label 1
        ({"time_horizon": "10"}, TypeError, "number"),
        ({"test_size": 1.5}, ValueError, "between 0 and 1"),
        ({"random_state": 1.5}, TypeError, "integer"),
        ({"keep_unknown_followup": "yes"}, TypeError, "True or False"),
    ],
)
def test_bad_arguments(nhanes_dir, arguments, error, message):
    with pytest.raises(error, match=message):
        load_nhanes(**arguments)


def test_fetch_reads_data_dir_without_downloading(nhanes_dir, monkeypatch):
    monkeypatch.setattr(data, "_download", lambda remote: pytest.fail("must not download"))
    assert fetch("NHANESI_subset_X.csv") == nhanes_dir / "NHANESI_subset_X.csv"


def test_file_with_wrong_hash_is_refused(nhanes_dir, tmp_path, monkeypatch):
    for name in ("NHANESI_subset_X.csv", "NHANESI_subset_y.csv"):
        shutil.copy(nhanes_dir / name, tmp_path / name)
    with open(tmp_path / "NHANESI_subset_X.csv", "a") as handle:
        handle.write("9932,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n")
    monkeypatch.setenv("MEDINTERP_DATA_DIR", str(tmp_path))
    with pytest.raises(DataHashError, match="sha256") as error:
        load_nhanes()
    assert "NHANESI_subset_X.csv" in str(error.value)
    assert data.REGISTRY["NHANESI_subset_X.csv"].sha256 in str(error.value)


def test_missing_file_in_data_dir_names_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDINTERP_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="NHANESI_subset_y.csv") as error:
        fetch("NHANESI_subset_y.csv")
    assert str(tmp_path) in str(error.value)


def test_offline_without_cache_names_file_url_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA_DIR", raising=False)
    monkeypatch.setenv("MEDINTERP_CACHE_DIR", str(tmp_path))
    # Port 9 (discard) on loopback refuses the connection: what "offline" looks like.
    unreachable = data.RemoteFile(
        "NHANESI_subset_y.csv",
        "http://127.0.0.1:9/NHANESI_subset_y.csv",
        data.REGISTRY["NHANESI_subset_y.csv"].sha256,
    )
    monkeypatch.setitem(data.REGISTRY, "NHANESI_subset_y.csv", unreachable)
    with pytest.raises(DataUnavailableError) as error:
        fetch("NHANESI_subset_y.csv")
    message = str(error.value)
    assert "NHANESI_subset_y.csv" in message
    assert unreachable.url in message
    assert "MEDINTERP_DATA_DIR" in message
    assert not (tmp_path / "NHANESI_subset_y.csv").exists()


@pytest.fixture
def local_server(tmp_path):
    """An HTTP server on loopback serving tmp_path/served; stopped after the test."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _serve_from(monkeypatch, base_url, name):
    remote = data.RemoteFile(name, base_url + name, data.REGISTRY[name].sha256)
    monkeypatch.setitem(data.REGISTRY, name, remote)


def test_download_replaces_tampered_cache(nhanes_dir, tmp_path, local_server, monkeypatch):
    served, base_url = local_server
    name = "NHANESI_subset_y.csv"
    shutil.copy(nhanes_dir / name, served / name)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / name).write_text("tampered\n")
    monkeypatch.delenv("MEDINTERP_DATA_DIR", raising=False)
    monkeypatch.setenv("MEDINTERP_CACHE_DIR", str(cache))
    _serve_from(monkeypatch, base_url, name)
    path = fetch(name)
    assert path == cache / name
    assert path.read_bytes() == (nhanes_dir / name).read_bytes()


def test_download_with_wrong_hash_is_discarded(tmp_path, local_server, monkeypatch):
    served, base_url = local_server
    name = "NHANESI_subset_y.csv"
    (served / name).write_text(",y\n0,1.0\n")
    cache = tmp_path / "cache"
    monkeypatch.delenv("MEDINTERP_DATA_DIR", raising=False)
    monkeypatch.setenv("MEDINTERP_CACHE_DIR", str(cache))
    _serve_from(monkeypatch, base_url, name)
    with pytest.raises(DataHashError, match="discarded"):
        fetch(name)
    assert not (cache / name).exists()


def test_unknown_file_lists_registry():
    with pytest.raises(ValueError, match="NHANESI_subset_X.csv"):
        fetch("nhanes.csv")


def test_nih_sample_radiographs_are_registered_and_read_locally(monkeypatch):
    """The NIH sample images are pinned to reproduce-chexnet's commit and read from
    MEDINTERP_CXR_SAMPLES_DIR/images when it is set: nothing is downloaded."""
    import os

    if not os.environ.get("MEDINTERP_CXR_SAMPLES_DIR"):
        pytest.skip("MEDINTERP_CXR_SAMPLES_DIR is not set")
    monkeypatch.setattr(data, "_download", lambda remote: pytest.fail("must not download"))
    assert len(data.NIH_SAMPLE_IMAGES) == 30
    remote = data.REGISTRY["00000075_000.png"]
    assert "reproduce-chexnet/a011a9ab108cb03a533aeab52dc934b02a823ac8/starter_images/" in (
        remote.url
    )
    path = fetch("00000075_000.png")
    assert path == Path(os.environ["MEDINTERP_CXR_SAMPLES_DIR"]) / "images" / "00000075_000.png"


def test_nih_sample_with_wrong_hash_or_missing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_download", lambda remote: pytest.fail("must not download"))
    (tmp_path / "images").mkdir()
    monkeypatch.setenv("MEDINTERP_CXR_SAMPLES_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="MEDINTERP_CXR_SAMPLES_DIR"):
        fetch("00000075_000.png")
    (tmp_path / "images" / "00000075_000.png").write_bytes(b"not a radiograph")
    with pytest.raises(DataHashError, match="sha256"):
        fetch("00000075_000.png")
