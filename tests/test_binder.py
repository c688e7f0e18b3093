"""Binder, verified rather than assumed: repo2docker reads binder/ the way mybinder.org will.

``repo2docker --no-build --debug`` prints the Dockerfile it would build without Docker. The
checks below read that Dockerfile: Python 3.11, the CPU-only requirements, our postBuild,
and no instructor tools (nbgrader is the instructor extra, never the students' image).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
