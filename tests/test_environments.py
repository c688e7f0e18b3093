"""pyproject.toml, environment.yml and binder/requirements.txt must name the same packages."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# Binder installs the CPU-only build of the same TensorFlow release.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow"}


def _by_name(lines):
    requirements = {}
    for line in lines:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        requirements[SAME_PACKAGE.get(name, name)] = str(requirement.specifier)
    return requirements


def pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _by_name(project["dependencies"])


def conda_requirements():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    return _by_name(line for line in pip_section if not line.startswith("-e"))


def binder_requirements():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return _by_name(line for line in lines if line.strip() and not line.startswith("#"))


def test_conda_environment_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_binder_matches_pyproject():
    assert binder_requirements() == pyproject_requirements()


def test_binder_uses_cpu_tensorflow_and_installs_package_without_deps():
    lines = (ROOT / "binder" / "requirements.txt").read_text()
    assert "tensorflow-cpu" in lines
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "--no-deps" in post_build and "pip install" in post_build


def test_drift_is_detected():
    """The comparison itself must notice a changed pin or a missing package."""
    reference = pyproject_requirements()
    changed = _by_name([f"{n}{s}" for n, s in reference.items() if n != "pooch"])
    assert changed != reference
    bumped = dict(reference, shap="==0.46.0")
    assert bumped != reference
