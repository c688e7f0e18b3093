"""One lock for every install: uv.lock pins the environment, and every other file agrees.

``make lab`` and ``make test`` install with ``uv sync --locked``; Binder and conda cannot read
uv.lock, so ``make lock`` writes binder/requirements.txt and environment.yml from it
(build_tools/lock.py). These tests fail when any of them is stale, package by package.
"""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from build_tools import lock

ROOT = Path(__file__).resolve().parents[1]


def pinned(lines) -> dict[str, str]:
    """{name: version} of requirement lines that must each pin one exact version."""
    pins = {}
    for line in lines:
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"not an exact pin: {line}"
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def binder_pins() -> dict[str, str]:
    lines = lock.BINDER_REQUIREMENTS.read_text().splitlines()
    return pinned(line for line in lines if line.strip() and not line.startswith("#"))


def conda_pins() -> dict[str, str]:
    environment = yaml.safe_load(lock.CONDA_ENVIRONMENT.read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    return pinned(line for line in pip_section if not line.startswith("-e"))


@pytest.fixture(scope="module")
def student_pins():
    """The students' packages in uv.lock: {name: (version, marker)}."""
    return lock.locked_pins()


def test_written_files_are_not_stale_against_the_lock():
    assert lock.stale_files() == [], "run `make lock`"


def test_lock_is_current_with_pyproject():
    """uv.lock must satisfy pyproject.toml's ranges (what `uv sync --locked` checks)."""
    checked = subprocess.run(
        [lock.uv(), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_binder_pins_the_lock_package_by_package(student_pins):
    linux = {
        name: version
        for name, (version, marker) in student_pins.items()
        if "linux" in lock.platforms_of(marker)
    }
    binder = binder_pins()
    assert binder.pop("tensorflow-cpu") == linux.pop("tensorflow")
    assert binder == linux


def test_conda_pins_the_lock_package_by_package(student_pins):
    assert conda_pins() == {name: version for name, (version, _) in student_pins.items()}


def test_every_pin_is_the_version_in_uv_lock():
    """Independent of uv export: read uv.lock as TOML."""
    locked = lock.lock_versions()
    for name, version in {**conda_pins(), **binder_pins()}.items():
        assert locked[name.removesuffix("-cpu") if name == "tensorflow-cpu" else name] == version


def test_students_get_no_instructor_or_test_tools(student_pins):
    assert {"nbgrader", "pytest", "nbval", "playwright"}.isdisjoint(student_pins)
    assert {"tensorflow", "keras", "shap", "jupyterlab", "opencv-python-headless"} <= set(
        student_pins
    )


def test_lock_covers_the_extras_and_the_direct_dependencies():
    locked = lock.lock_versions()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = project["dependencies"] + [
        line
        for extra in project["optional-dependencies"].values()
        for line in extra
        if not line.startswith("medinterp")
    ]
    for line in direct:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in uv.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), line


def test_lock_has_hashes_for_linux_and_macos():
    packages = tomllib.loads(lock.LOCK.read_text())["package"]
    wheels = {w["url"].rsplit("/", 1)[1] for p in packages for w in p.get("wheels", [])}
    assert all("hash" in w for p in packages for w in p.get("wheels", []))
    tensorflow = [w for w in wheels if w.startswith("tensorflow-")]
    assert any("manylinux" in w and "x86_64" in w for w in tensorflow)
    assert any("macosx" in w and "arm64" in w for w in tensorflow)


def test_make_installs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --locked" in makefile
    assert "pip install --quiet -e" not in makefile, "an install that bypasses uv.lock"


def test_make_compiles_bytecode_at_install():
    # uv writes no bytecode unless asked: a kernel that may not write its cache would compile
    # TensorFlow's modules on every start (notebook 07's setup alone took 10 s more).
    sync = next(line for line in (ROOT / "Makefile").read_text().splitlines()
                if line.startswith("SYNC :="))  # fmt: skip
    assert "--compile-bytecode" in sync


def test_binder_uses_cpu_tensorflow_and_installs_package_without_deps():
    assert "tensorflow-cpu" in binder_pins()
    assert "tensorflow" not in binder_pins()
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "--no-deps" in post_build and "pip install" in post_build


def test_drift_is_detected(student_pins, tmp_path, monkeypatch):
    """The comparison must notice a changed pin, a missing package and a range."""
    text = lock.BINDER_REQUIREMENTS.read_text()
    numpy = re.search(r"^numpy==(\S+)$", text, re.M).group(1)
    for changed in (
        text.replace(f"numpy=={numpy}", "numpy==2.0.0"),
        text.replace("pooch==", "#pooch=="),
        text.replace(f"numpy=={numpy}", "numpy>=2"),
    ):
        monkeypatch.setattr(lock, "BINDER_REQUIREMENTS", tmp_path / "requirements.txt")
        lock.BINDER_REQUIREMENTS.write_text(changed)
        assert lock.stale_files() == [lock.BINDER_REQUIREMENTS]
        with pytest.raises(AssertionError):
            test_binder_pins_the_lock_package_by_package(student_pins)
