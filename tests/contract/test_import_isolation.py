"""``omnivideo.contract`` is the SDK's validator: it must import without the server's stack."""

from __future__ import annotations

from tests.isolation import run_without

BLOCKED = ("fastapi", "starlette", "sqlalchemy", "alembic", "torch", "av", "PIL", "numpy")

_PROGRAM = """
import omnivideo.contract
from omnivideo.contract import check, parse_request

check(parse_request({"prompt": "a cat", "model_name": "kling-v3-omni", "sound": "on"}))
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print("ok")
"""


def test_contract_imports_without_server_dependencies() -> None:
    result = run_without(BLOCKED, _PROGRAM)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_blocker_blocks() -> None:
    # Guard against a test that passes because nothing was blocked.
    program = _PROGRAM.replace("import omnivideo.contract", "import PIL")
    result = run_without(BLOCKED, program)
    assert result.returncode != 0
    assert "blocked for this test: PIL" in result.stderr
