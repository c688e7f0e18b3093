"""Lock the course's environment and write every file that installs it.

``uv.lock`` is the single source of truth: every package, direct and transitive, pinned with
its hashes, for Python 3.11 on Linux x86_64 and macOS arm64 (``[tool.uv] environments`` in
pyproject.toml). ``make lab`` and ``make test`` install from it with ``uv sync --locked``.
Two installers cannot read it, so this script writes them from it:

- ``binder/requirements.txt``: repo2docker has no uv buildpack and reads a plain pip file;
  Linux x86_64 only, with ``tensorflow-cpu`` (the same release, half the size) in place of
  ``tensorflow``;
- ``environment.yml``: conda users on Linux or macOS; pip pins with a platform marker where
  a package is needed on one platform only.

``python build_tools/lock.py``            re-lock, keeping every pin that still satisfies
                                          pyproject.toml (after editing its ranges)
``python build_tools/lock.py --upgrade``  re-lock to the newest releases the ranges allow
                                          (after ``make test-latest`` passed)
``python build_tools/lock.py --check``    exit 1 if any written file is stale (no network)
``python build_tools/lock.py --diff VENV`` list the packages whose version in VENV differs
                                          from the lock (``make test-latest`` prints this)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
BINDER_REQUIREMENTS = ROOT / "binder" / "requirements.txt"
CONDA_ENVIRONMENT = ROOT / "environment.yml"

# The marker environments of the two platforms the lock covers (PEP 508 names).
PLATFORMS = {
    "linux": {
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "sys_platform": "linux",
        "platform_machine": "x86_64",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    },
    "darwin": {
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "sys_platform": "darwin",
        "platform_machine": "arm64",
        "platform_system": "Darwin",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    },
}
# Binder installs the CPU-only build of the same TensorFlow release.
BINDER_RENAMES = {"tensorflow": "tensorflow-cpu"}

BINDER_HEADER = """\
# Written by `make lock` from uv.lock: edit pyproject.toml, never this file.
# mybinder.org builds this with repo2docker (which reads a plain pip file, not uv.lock).
# CPU-only TensorFlow: Binder has no GPU and about 2 GB of RAM, and tensorflow-cpu is half
# the size of tensorflow. Exact pins for Linux x86_64, Python 3.11; no instructor tools.
"""
CONDA_HEADER = """\
# Written by `make lock` from uv.lock: edit pyproject.toml, never this file.
# For local conda users (Linux x86_64 or macOS arm64):
#   conda env create -f environment.yml && conda activate medinterp
# The students' packages, pinned exactly as in uv.lock; no instructor tools.
"""


def uv() -> str:
    """The uv beside this Python (make installs it into the venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise SystemExit("uv not found: run `make lock` (it installs uv into .venv)")
    return found


def locked_pins() -> dict[str, tuple[str, str]]:
    """The students' packages (no extras) as {name: (version, marker)}, from ``uv export``."""
    exported = subprocess.run(
        [uv(), "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header"]
        + ["--no-annotate", "--format", "requirements-txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = {}
    for line in exported.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = (specifier.version, str(requirement.marker))
    return pins


def platforms_of(marker: str) -> list[str]:
    """The platforms of PLATFORMS on which a package with this marker is installed."""
    if marker == "None":
        return list(PLATFORMS)
    return [name for name, environment in PLATFORMS.items() if Marker(marker).evaluate(environment)]


def binder_text(pins: dict[str, tuple[str, str]]) -> str:
    names = sorted(
        (BINDER_RENAMES.get(name, name), version)
        for name, (version, marker) in pins.items()
        if "linux" in platforms_of(marker)
    )
    return BINDER_HEADER + "".join(f"{name}=={version}\n" for name, version in names)


def conda_text(pins: dict[str, tuple[str, str]]) -> str:
    lines = []
    for name, (version, marker) in sorted(pins.items()):
        platforms = platforms_of(marker)
        if len(platforms) == len(PLATFORMS):
            lines.append(f"{name}=={version}")
        elif platforms:
            (platform,) = platforms
            lines.append(f"{name}=={version} ; sys_platform == '{platform}'")
    body = "\n".join(f'      - "{line}"' for line in lines)
    return (
        CONDA_HEADER
        + "name: medinterp\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
        + "  - pip\n  - pip:\n"
        + body
        + "\n      - -e .\n"
    )


def expected_files() -> dict[Path, str]:
    pins = locked_pins()
    return {BINDER_REQUIREMENTS: binder_text(pins), CONDA_ENVIRONMENT: conda_text(pins)}


def stale_files() -> list[Path]:
    return [path for path, text in expected_files().items() if path.read_text() != text]


def check_binder_resolves_to_itself() -> None:
    """tensorflow-cpu must need exactly what tensorflow needs: resolve the Binder file alone
    for its platform and fail if pip would add or change anything."""
    resolved = subprocess.run(
        [uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
        + [
            "--python-version",
            PLATFORMS["linux"]["python_full_version"],
            "--python-platform",
            "x86_64-manylinux_2_28",
        ]
        + [str(BINDER_REQUIREMENTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pinned = {line for line in BINDER_REQUIREMENTS.read_text().splitlines() if "==" in line}
    resolved_pins = {line.strip() for line in resolved.splitlines() if "==" in line}
    if resolved_pins != pinned:
        raise SystemExit(
            "binder/requirements.txt does not resolve to itself: "
            f"added {sorted(resolved_pins - pinned)}, dropped {sorted(pinned - resolved_pins)}"
        )


def installed_versions(venv: Path) -> dict[str, str]:
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}


def lock_versions() -> dict[str, str]:
    lock = tomllib.loads(LOCK.read_text())
    return {canonicalize_name(p["name"]): p["version"] for p in lock["package"]}


def diff_report(venv: Path) -> str:
    """The packages whose version in ``venv`` differs from uv.lock, one line each."""
    locked, installed = lock_versions(), installed_versions(venv)
    tooling = {"pip", "uv", "medinterp", "setuptools"}
    rows = [
        f"  {name:32} {locked[name]:>14} -> {installed[name]}"
        for name in sorted(locked.keys() & installed.keys() - tooling)
        if locked[name] != installed[name]
    ]
    new = sorted(installed.keys() - locked.keys() - tooling)
    report = [f"{len(rows)} packages differ from uv.lock (locked -> newest allowed):", *rows]
    if new:
        report.append("not in uv.lock: " + ", ".join(new))
    return "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--upgrade", action="store_true", help="newest releases the ranges allow")
    action.add_argument("--check", action="store_true", help="exit 1 if a written file is stale")
    action.add_argument("--diff", type=Path, metavar="VENV", help="compare a venv with the lock")
    arguments = parser.parse_args()
    if arguments.diff:
        print(diff_report(arguments.diff))
        return
    if arguments.check:
        stale = stale_files()
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale against uv.lock: run `make lock`")
        raise SystemExit(1 if stale else 0)
    subprocess.run(
        [uv(), "lock"] + (["--upgrade"] if arguments.upgrade else []), cwd=ROOT, check=True
    )
    for path, text in expected_files().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    check_binder_resolves_to_itself()


if __name__ == "__main__":
    main()
