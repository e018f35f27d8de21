"""A start on a database already at the newest revision skips Alembic; any other still
migrates (the head is read from the scripts themselves, and must agree with Alembic's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from omnivideo.store.db import alembic_config, head_revisions, make_engine, migrate


def test_heads_read_from_the_scripts_are_alembics() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revisions() == set(scripts.get_heads())


def test_only_a_database_behind_the_head_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    upgrades: list[str] = []
    monkeypatch.setattr(command, "upgrade", lambda _cfg, to: upgrades.append(to))
    migrate(engine)
    assert upgrades == []  # at head: Alembic not asked
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    (head,) = scripts.get_heads()
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    with engine.begin() as conn:  # as an older release left it: one revision behind
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    migrate(engine)
    assert upgrades == ["head"]
    engine.dispose()


def test_a_restart_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    program = (
        "import sys\n"
        "from omnivideo.store.db import make_engine, migrate\n"
        f"migrate(make_engine({url!r}))\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
