"""The `omnivideo` command: keys, --no-auth, start-up errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.harness import Server


def omnivideo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_create_list_revoke(server: Server) -> None:
    data = server.admin_args()
    created = json.loads(omnivideo("keys", "create", "--name", "ci", "--json", *data).stdout)
    assert set(created) >= {"account_id", "access_key", "secret_key", "api_key", "webhook_secret"}
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert httpx.get(f"{server.base_url}/v1/videos/omni-video", headers=headers).json()["code"] == 0
    listed = json.loads(omnivideo("keys", "list", "--json", *data).stdout)
    mine = next(k for k in listed if k["access_key"] == created["access_key"])
    assert mine["revoked"] is False and created["secret_key"] not in json.dumps(listed)
    assert omnivideo("keys", "revoke", created["access_key"], *data).returncode == 0
    # The server looks for revocations once a second (its auth cache's check interval): the
    # key is refused within that, however fast the command returned.
    deadline = time.monotonic() + 3
    while True:
        revoked = httpx.get(f"{server.base_url}/v1/videos/omni-video", headers=headers)
        if revoked.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (revoked.status_code, revoked.json()["code"]) == (401, 1002)
    assert omnivideo("keys", "revoke", created["access_key"], *data).returncode == 1


def test_no_auth_only_on_loopback(tmp_path: Path) -> None:
    refused = omnivideo("serve", "--no-auth", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert refused.returncode == 2 and "loopback" in refused.stderr
    srv = Server(tmp_path / "open", extra_args=["--no-auth"]).start()
    try:
        r = httpx.post(
            f"{srv.base_url}/v1/videos/omni-video", json={"prompt": "no key needed", "mode": "std"}
        )
        assert r.json()["code"] == 0
    finally:
        srv.stop()


def test_unknown_engine_is_a_clear_start_up_error(tmp_path: Path) -> None:
    result = omnivideo("serve", "--engine", "nope", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "unknown engine 'nope'" in result.stderr and "preview" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_dir_that_cannot_be_opened_stops_serve_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for path, reason in ((blocker, "File exists"), (blocker / "data", "Not a directory")):
        result = omnivideo("serve", "--data-dir", str(path))
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"error: cannot open the data directory {path}: {reason}"
        ]


def test_unattended_first_start_writes_the_credentials_to_an_owner_only_file(
    server: Server,
) -> None:
    path = server.data_dir / "first-account-credentials.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"its credentials are in {path} (mode 0600)" in "\n".join(server.log)
    log = "\n".join(server.log)
    assert server.api_key not in log and server.credentials["secret_key"] not in log
    assert f"API key:     {server.api_key}" in path.read_text()


def test_at_a_terminal_the_credentials_are_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnivideo.cli.main import _hand_over_credentials
    from omnivideo.service.accounts import NewCredentials

    creds = NewCredentials("acc", "default", "ak", "sk", "omni-key", "whsec")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _hand_over_credentials(creds, tmp_path)
    assert "  API key:     omni-key" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_default_data_dir_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from omnivideo.settings import Settings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path / "..")
    assert Settings().data_dir == tmp_path / "share" / "omnivideo"
