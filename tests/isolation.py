"""Run Python code in a subprocess where some top-level packages cannot be imported.

The SDK and the contract promise to work without the server's stack; this is how tests check.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterable

_BLOCKER = textwrap.dedent(
    """
    import sys

    BLOCKED = set(sys.argv[1].split(","))

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked for this test: {name}")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_without(blocked: Iterable[str], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with every package in ``blocked`` unimportable; it should print "ok".

    The code may check ``BLOCKED`` itself, e.g. that none of them was imported after all.
    """
    program = _BLOCKER + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", program, ",".join(blocked)],
        capture_output=True,
        text=True,
        timeout=60,
    )
