"""The model catalogue on the in-memory twin: routes from flags and files, routing by model,
mode and resolution, one queue per route, and a worker taking only its route's tasks."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from omnivideo.contract import parse_request
from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import load
from omnivideo.contract.task import TaskStatus
from omnivideo.engines.base import built
from omnivideo.server.playground import capabilities
from omnivideo.service import metrics, tasks, wiring
from omnivideo.service.catalogue import (
    ANY,
    Catalogue,
    Route,
    parse_model_route,
    read_catalogue,
)
from omnivideo.settings import Settings
from omnivideo.storage import LocalBlobStore
from omnivideo.store.memory import memory_stores
from tests.twin import InstantEngine

BODY = {"prompt": "a fox", "duration": "5"}


class Small(InstantEngine):
    name: ClassVar[str] = "small"


class Large(InstantEngine):
    name: ClassVar[str] = "large"


def test_a_model_route_names_the_engine_and_its_model() -> None:
    route = parse_model_route("kling-v3-omni=wan:/models/Wan2.1-VACE-14B-diffusers")
    assert (route.model, route.engine, route.engine_model) == (
        "kling-v3-omni",
        "wan",
        "/models/Wan2.1-VACE-14B-diffusers",
    )
    assert route.queue == "wan.wan2-1-vace-14b-diffusers"
    assert parse_model_route("*=preview").queue == "preview"
    for bad, words in [
        ("kling-v3-omni", "expected MODEL=ENGINE"),
        ("=preview", "expected MODEL=ENGINE"),
        ("kling-v9=preview", "unknown model 'kling-v9'"),
    ]:
        with pytest.raises(OmniError, match=words):
            parse_model_route(bad)


def test_a_catalogue_file_routes_per_mode_and_resolution(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(
        """
[[routes]]
model = "kling-video-o1"
mode = "std"
engine = "wan"
engine_model = "/models/Wan2.1-VACE-1.3B-diffusers"
options = { profile = "distill-4step" }

[[routes]]
model = "kling-video-o1"
resolution = "1080p"
engine = "wan"
engine_model = "/models/Wan2.1-VACE-14B-diffusers"

[[routes]]
model = "kling-v3-omni"
engine = "relay"
options = { upstreams = ["kling=https://api-singapore.klingai.com"] }
"""
    )
    std, pro, relay = read_catalogue(path)
    assert (std.mode, std.options) == ("std", {"profile": "distill-4step"})
    assert pro.resolution == "1080p" and relay.engine == "relay"
    catalogue = Catalogue([std, pro, relay], {})
    spec = _spec({**BODY, "model_name": "kling-video-o1", "mode": "std"})
    assert catalogue.route_for(spec) is std
    spec = _spec({**BODY, "model_name": "kling-video-o1", "mode": "pro"})
    assert catalogue.route_for(spec) is pro  # 1920x1080: the 1080p route
    spec = _spec({**BODY, "model_name": "kling-v3-omni", "mode": "pro"})
    assert catalogue.route_for(spec) is relay


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[routes]]\nmodel = "kling-v3-omni"\nengine = "preview"\nmodes = "std"', "unknown key"),
        ('[[routes]]\nmodel = "kling-v3-omni"\nengine = "preview"\nmode = "fast"', "std or pro"),
        ('[[routes]]\nmodel = "kling-v3-omni"\nengine = "preview"\nresolution = "8k"', "720p"),
        ('[[routes]]\nmodel = "kling-v3-omni"', "needs model and engine"),
        ("routes = 3", "one or more"),
        ("[[routes]\n", "not valid TOML"),
    ],
)
def test_a_bad_catalogue_is_refused_at_start_naming_the_key(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(text)
    with pytest.raises(OmniError, match=words) as caught:
        read_catalogue(path)
    assert caught.value.code == 5000 and str(path) in caught.value.message


def test_routes_to_one_queue_must_agree_on_options() -> None:
    a = Route("kling-video-o1", "preview", options={"crf": 20})
    b = Route("kling-v3-omni", "preview", options={"crf": 30})
    with pytest.raises(OmniError, match="different engine options"):
        Catalogue.build([a, b])
    same = Catalogue.build([a, Route("kling-v3-omni", "preview", options={"crf": 20})])
    assert same.queues() == ["preview"]


def test_without_routes_every_model_goes_to_the_engine_and_model(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, engine="preview")
    assert wiring.catalogue_routes(settings) == [Route(ANY, "preview", None)]
    routed = Settings(
        data_dir=tmp_path,
        engine="preview",
        model_routes="kling-video-o1=preview, kling-v3-omni=relay",  # type: ignore[arg-type]
    )
    assert [r.describe() for r in wiring.catalogue_routes(routed)] == [
        "kling-video-o1 -> preview",
        "kling-v3-omni -> relay",
    ]


@pytest.fixture
def two_routes(tmp_path: Path):  # type: ignore[no-untyped-def]
    small, large = Small(), Large()
    routes = [
        Route("kling-video-o1", "small", None, mode="std"),
        Route("kling-v3-omni", "large", "/models/large"),
    ]
    catalogue = Catalogue(routes, {routes[0].queue: built(small), routes[1].queue: built(large)})
    rt = wiring.build_runtime(
        Settings(data_dir=tmp_path / "data", allow_hosts=["127.0.0.1"]),  # type: ignore[call-arg]
        memory_stores(),
        LocalBlobStore(tmp_path / "blobs"),
        catalogue=catalogue,
        renderers={routes[0].queue: small, routes[1].queue: large},
        secret=b"test-secret",
    )
    return rt, small, large


def test_each_task_goes_to_its_route_s_queue_and_engine(two_routes) -> None:  # type: ignore[no-untyped-def]
    rt, small, large = two_routes
    a = tasks.submit(
        rt, "acc", parse_request({**BODY, "model_name": "kling-video-o1", "mode": "std"})
    )
    b = tasks.submit(rt, "acc", parse_request({**BODY, "model_name": "kling-v3-omni"}))
    assert load(a.spec or {}).route == "small"
    assert load(b.spec or {}).route == "large.large"
    waiting = metrics.snapshot(rt.stores, rt.catalogue.queues())
    assert waiting.queues["small"][0] == 1 and waiting.queues["large.large"][0] == 1
    for task in (a, b):
        tasks.run(rt, task.task_id)
        assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED
    assert [j.task_id for j in small.jobs] == [a.task_id]
    assert [j.task_id for j in large.jobs] == [b.task_id]
    assert metrics.snapshot(rt.stores, rt.catalogue.queues()).queues == {
        "small": (0, 0.0),
        "large.large": (0, 0.0),
    }


def test_a_model_or_mode_no_route_serves_is_1203(two_routes) -> None:  # type: ignore[no-untyped-def]
    rt, _, _ = two_routes
    with pytest.raises(OmniError) as caught:
        tasks.submit(
            rt, "acc", parse_request({**BODY, "model_name": "kling-video-o1", "mode": "pro"})
        )
    assert caught.value.code == 1203
    assert "served here only as kling-video-o1 (std) -> small" in caught.value.message
    assert rt.stores.tasks.page("acc", 0, 10) == []


def test_capabilities_offer_only_what_is_routed(two_routes) -> None:  # type: ignore[no-untyped-def]
    rt, _, _ = two_routes
    caps = capabilities(rt.catalogue)
    assert caps["models"] == ["kling-video-o1", "kling-v3-omni"]
    rows = {(r["model_name"], r["mode"]) for r in caps["capabilities"]}
    assert rows == {("kling-video-o1", "std"), ("kling-v3-omni", "std"), ("kling-v3-omni", "pro")}
    serving = {(s["model"], s["engine"], s["queue"]) for s in caps["serving"]}
    assert serving == {
        ("kling-video-o1", "small", "small"),
        ("kling-v3-omni", "large", "large.large"),
    }


def test_a_worker_renders_a_spec_from_before_routes(two_routes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A spec from before routes (version 1, brought up to date by the store's migrations) has
    # no route: a worker with one engine renders it.
    rt = wiring.build_runtime(
        Settings(data_dir=tmp_path / "one"),  # type: ignore[call-arg]
        memory_stores(),
        LocalBlobStore(tmp_path / "blobs1"),
        InstantEngine(),
        secret=b"s",
    )
    task = tasks.submit(rt, "acc", parse_request({**BODY, "model_name": "kling-v3-omni"}))
    routeless = {**(task.spec or {}), "route": ""}
    rt.stores.tasks._update(task.task_id, spec=routeless)  # type: ignore[attr-defined]
    tasks.run(rt, task.task_id)
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED
    # One queued by an API process of an older omnivideo (not migrated) fails, saying so.
    older = tasks.submit(rt, "acc", parse_request({**BODY, "model_name": "kling-v3-omni"}))
    rt.stores.tasks._update(  # type: ignore[attr-defined]
        older.task_id, spec={**(older.spec or {}), "version": 2}
    )
    tasks.run(rt, older.task_id)
    failed = tasks.get(rt, "acc", older.task_id)
    assert failed.status is TaskStatus.FAILED and "older omnivideo" in failed.status_msg
    # One from a newer omnivideo fails with words that say so.
    newer = tasks.submit(rt, "acc", parse_request({**BODY, "model_name": "kling-v3-omni"}))
    rt.stores.tasks._update(  # type: ignore[attr-defined]
        newer.task_id, spec={**(newer.spec or {}), "version": 99}
    )
    tasks.run(rt, newer.task_id)
    failed = tasks.get(rt, "acc", newer.task_id)
    assert failed.status is TaskStatus.FAILED and "upgrade the worker" in failed.status_msg


def _spec(body: dict[str, object]):  # type: ignore[no-untyped-def]
    from omnivideo.contract.spec import plan

    return plan(parse_request(body))
