"""The API benchmark's load client is not the bottleneck, and it counts what it should.

bench/api.py judges omnivideo by its ratio to a floor app; a client that saturates first pushes
every ratio towards 1. Here the client alone, against a server answering canned bytes, must
sustain at least 3× the floor's create rate measured by the same client in the same test.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from api import BODY, CREATE_PATH, Side, _floor, client_ceiling  # noqa: E402
from load_client import LoadClient, request  # noqa: E402
from wrk_client import WrkClient  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[LoadClient]:
    with LoadClient(processes=2, connections=64) as c:
        yield c


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    folder = tmp_path_factory.mktemp("floor")
    side = Side("floor", *_floor(f"sqlite:///{folder / 'floor.db'}", folder))
    try:
        yield side
    finally:
        side.served.stop()


def test_client_outruns_the_floor(client: LoadClient, floor: Side) -> None:
    floor.run(client, "create", 0.5, record=False)  # warm-up: pool, caches
    floor_rps = floor.run(client, "create", 1.5).rps
    canned_rps = client_ceiling(client, 1.5)
    assert canned_rps >= 3 * floor_rps, (canned_rps, floor_rps)


def test_client_counts_answers_ids_and_errors(client: LoadClient, floor: Side) -> None:
    created = floor.run(client, "create", 0.5)
    assert created.done > 0 and created.errors == 0
    assert len(created.ids) == created.done and len(set(created.ids)) == created.done
    assert 0 < created.p50_ms <= created.p99_ms
    # every id it collected is a row the floor answers
    queried = floor.run(client, "query", 0.5)
    assert queried.done > 0 and queried.errors == 0
    # without the key every answer is a 401: counted as errors, not as done
    body = json.dumps(BODY).encode()
    refused = client.run("127.0.0.1", floor.served.port, [request("POST", CREATE_PATH, body)], 0.3)
    assert refused.done == 0 and refused.errors > 0 and "401" in refused.first_error


def test_the_wrk_cross_check_counts_the_same_things(floor: Side) -> None:
    """bench/api.py --client wrk: wrk runs the same requests and reports the same figures."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian: apt install wrk)")
    with WrkClient(threads=2, connections=8) as wrk:
        created = floor.run(wrk, "create", 1)
        assert created.done > 0 and created.errors == 0
        assert len(created.ids) == created.done and len(set(created.ids)) == created.done
        assert 0 < created.p50_ms <= created.p99_ms
        queried = floor.run(wrk, "query", 1)
        assert queried.done > 0 and queried.errors == 0
        body = json.dumps(BODY).encode()
        refused = wrk.run("127.0.0.1", floor.served.port, [request("POST", CREATE_PATH, body)], 1)
        assert refused.done == 0 and refused.errors > 0 and "non-2xx" in refused.first_error
