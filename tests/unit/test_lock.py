"""The lock covers what pyproject.toml declares, so installs reproduce (README: Development)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if found:
            pins[_norm(found[1])] = Version(found[2])
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra, reqs in project["optional-dependencies"].items():
        if extra in {"postgres", "s3", "dev", "wan", "server", "cli"}:
            declared += reqs
    pins = _pins()
    for text in declared:
        req = Requirement(text)
        if _norm(req.name) == "omnivideo" or (req.marker and not req.marker.evaluate()):
            continue
        name = _norm(req.name)
        assert name in pins, f"{req.name} is declared but not in the lock: refresh it"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} in the lock is outside {req.specifier}: refresh it"
        )


def test_the_lock_does_not_pin_torch() -> None:
    # omnivideo installs on whatever torch build the machine has (CPU, CUDA, ROCm)
    assert "torch" not in _pins()


def test_the_lock_keeps_pytest_and_schemathesis_compatible() -> None:
    # schemathesis 4's pytest plugin writes Node._nodeid, which pytest 9.2 no longer has
    assert _pins()["pytest"] < Version("9.2")
