"""Binder, verified rather than assumed: repo2docker reads binder/ the way mybinder.org will.

``repo2docker --no-build --debug`` prints the Dockerfile it would build without Docker. The
checks below read that Dockerfile: Python 3.11, the CPU-only requirements, our postBuild,
and no instructor tools (nbgrader is the instructor extra, never the students' image).
The one-off run that builds the Binder environment for real (``python -m
benchmarks.binder_run``) has its pure logic checked at the end, without building a venv.
"""

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.binder_run import (
    NotebookRun,
    added_packages,
    binder_markdown,
    check_student_image,
    wheel_sources,
)

ROOT = Path(__file__).resolve().parents[1]


def _dockerfile(repository: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(repository)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return completed.stdout


def _python_version(dockerfile: str) -> str:
    """The Python of the conda environment repo2docker picks (named in its lock file, which
    the Dockerfile copies under an escaped name: '.' is -2e and '-' is -2d)."""
    match = re.search(r"environment-2epy-2d(\d+)-2e(\d+)-2dlinux", dockerfile)
    assert match, "repo2docker's Dockerfile names no conda environment lock file"
    return ".".join(match.groups())


@pytest.fixture(scope="module")
def dockerfile():
    return _dockerfile(ROOT)


def test_binder_uses_python_311_and_our_requirements(dockerfile):
    assert _python_version(dockerfile) == "3.11"
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile


def test_binder_image_has_no_instructor_tools(dockerfile):
    for text in (
        dockerfile,
        (ROOT / "binder/requirements.txt").read_text(),
        (ROOT / "binder/postBuild").read_text(),
    ):
        assert "nbgrader" not in text.lower()


def test_the_checks_see_a_changed_binder_folder(tmp_path):
    """A binder/ asking for another Python is read as such: the check above can fail."""
    copy = tmp_path / "repository"
    shutil.copytree(ROOT / "binder", copy / "binder")
    (copy / "binder/runtime.txt").write_text("python-3.10\n")
    (copy / "binder/postBuild").unlink()
    dockerfile = _dockerfile(copy)
    assert _python_version(dockerfile) == "3.10"
    assert "RUN ./binder/postBuild" not in dockerfile


IMAGE = {"tensorflow_cpu": "2.21.0", "Keras": "3.15.1", "numpy": "2.4.6", "tensorboard": "2.21.0"}


def test_the_student_image_check_names_the_versions():
    # Names are compared as PEP 503 names, and tensorboard is not the full tensorflow.
    assert check_student_image(IMAGE) == {
        "tensorflow-cpu": "2.21.0",
        "keras": "3.15.1",
        "numpy": "2.4.6",
    }


@pytest.mark.parametrize(
    ("extra", "missing", "message"),
    [
        ({"tensorflow": "2.21.0"}, None, "must not hold tensorflow"),
        ({"NBGrader": "0.9.5"}, None, "must not hold nbgrader"),
        ({}, "Keras", "lacks keras"),
        ({}, "tensorflow_cpu", "lacks tensorflow-cpu"),
    ],
)
def test_the_student_image_check_rejects_instructor_tools_and_the_full_wheel(
    extra, missing, message
):
    image = {name: v for name, v in IMAGE.items() if name != missing} | extra
    with pytest.raises(ValueError, match=message):
        check_student_image(image)


def test_added_packages_are_the_new_and_the_changed():
    before = {"numpy": "2.4.6", "packaging": "25.0"}
    after = {"numpy": "2.4.6", "packaging": "26.0", "pytest": "9.0.1", "Pluggy": "1.6.0"}
    assert added_packages(before, after) == {
        "packaging": "26.0",
        "pluggy": "1.6.0",
        "pytest": "9.0.1",
    }


def test_wheel_sources_tell_downloads_from_local_wheels():
    output = "\n".join(
        [
            "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple",
            "Processing /opt/pypi/files/tqdm-4.70.1-py3-none-any.whl",
            "Collecting platformdirs>=2.5.0",
            "  Downloading platformdirs-4.14.7-py3-none-any.whl.metadata (12 kB)",
            "  Downloading platformdirs-4.14.7-py3-none-any.whl (89 kB)",
            "Processing file:///opt/wheels/keras-3.15.1-py3-none-any.whl",
            "Installing collected packages: tqdm, platformdirs, keras",
        ]
    )
    assert wheel_sources(output) == (1, 2)


def _markdown(runs):
    return binder_markdown(
        runs,
        versions={"tensorflow-cpu": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"},
        added={"nbval": "0.11.0", "pytest": "9.0.1"},
        python_version="3.11.2",
        pip_version="23.0.1",
        install_seconds=321.4,
        sources=(2, 150),
        post_build_seconds=4.2,
        distributions=152,
        data_dir=True,
        load_average=(1.5, 1.25, 1.0),
        day=datetime.date(2026, 11, 22),
    )


def test_the_binder_table_shows_failures_and_the_limit():
    text = _markdown(
        [
            NotebookRun("01_hooks", True, 10.04, 797.4),
            NotebookRun("03_checking", False, 12.66, 2100.0),
            NotebookRun("05_importance", True, 9.0, 0.0),
        ]
    )
    assert "| 01_hooks | pass | 10.0 | 797 | yes |" in text
    assert "| 03_checking | FAIL | 12.7 | 2100 | NO |" in text
    assert "| 05_importance | pass | 9.0 | 0 | not measured (no kernel seen) |" in text
    assert "highest kernel peak 2100 MB (03_checking)" in text and "Series: 31.7 s" in text
    assert "in 321 s (2 distributions downloaded from PyPI, 150 taken" in text
    assert "tensorflow-cpu 2.21.0, keras 3.15.1, numpy 2.4.6" in text
    assert "not in the Binder image: nbval 0.11.0, pytest 9.0.1" in text
    assert "2026-11-22" in text and "1.50, 1.25, 1.00" in text
    assert text.count("\n| ") == 2 + 3  # header, rule and one line per notebook


def test_the_binder_table_needs_runs():
    with pytest.raises(ValueError, match="no notebook runs"):
        _markdown([])
