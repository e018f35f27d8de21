"""The documentation: references generated from the code, a site that builds, and install
instructions that work where omnivideo is not on a package index."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs/gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_references_match_the_code() -> None:
    for path, text in _generator().render().items():
        assert path.is_file() and path.read_text() == text, (
            f"{path.relative_to(ROOT)} is out of date: run python docs/gen_reference.py"
        )


def test_configuration_reference_lists_every_setting_with_its_default() -> None:
    from omnivideo.settings import Settings

    page = (ROOT / "docs/reference/configuration.md").read_text()
    for name in Settings.model_fields:
        row = next(
            (
                line
                for line in page.splitlines()
                if line.startswith(f"| `OMNIVIDEO_{name.upper()}` |")
            ),
            None,
        )
        assert row is not None, f"OMNIVIDEO_{name.upper()} is not documented"
        _variable, _type, default, _limits, meaning = row.strip("|").split(" | ")
        assert default.strip() and meaning.strip(), row
    assert "| `OMNIVIDEO_DB_WAIT_S` | float | `60.0` | ≥ 0 |" in page


def test_cli_reference_lists_every_command_and_option() -> None:
    import typer

    from omnivideo.cli.main import app

    page = (ROOT / "docs/reference/cli.md").read_text()
    root = typer.main.get_command(app)
    serve = root.commands["serve"]  # type: ignore[attr-defined]
    assert "## `omnivideo serve`" in page and "## `omnivideo keys create`" in page
    for param in serve.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert f"`{opt}" in page or f", {opt}" in page, opt


def test_install_instructions_never_install_from_a_package_index() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    # `pip install omnivideo…` or `pip install 'omnivideo[…]'` without a git URL or a checkout
    from_index = re.compile(r"pip install (-c \S+ )?['\"]?omnivideo(\[[^\]]*\])?['\"]?(?!\S* @)")
    for page in pages:
        for line in page.read_text().splitlines():
            assert not from_index.search(line), f"{page.relative_to(ROOT)}: {line}"
    install = (ROOT / "docs/install.md").read_text()
    assert "'omnivideo[server] @ git+https://" in install


def test_readme_is_a_front_page_that_keeps_the_quickstart_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 260
    assert (
        "python3 -m venv .venv && . .venv/bin/activate\n"
        "pip install -c requirements/constraints.txt -e '.[server]' && omnivideo serve\n"
    ) in readme
    assert (
        "pip install torch==2.13.0 && pip install -c requirements/constraints.txt "
        "-e '.[dev,wan]' && python -m pytest\n"
    ) in readme


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    home = (tmp_path / "index.html").read_text()
    assert "Quickstart" in home and 'href="install/"' in home  # the README, its links rewritten
    deploy = (tmp_path / "deploy/index.html").read_text()
    assert "max_connections=300" in deploy  # the compose file, included as it is
    assert (tmp_path / "reference/configuration/index.html").is_file()
