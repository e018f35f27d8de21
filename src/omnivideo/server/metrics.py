"""`GET /metrics` in Prometheus text format (requests are timed by :mod:`.edge`).

Requests are labelled with the route template (``/v1/videos/omni-video/{ident}``), never the
raw path, so a scan of random URLs cannot grow the series without bound.

Scraping needs no API key from the hosts in ``metrics_allow_hosts`` (loopback by default);
from anywhere else it takes an API key like every other route.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from omnivideo.server.errors import face_router
from omnivideo.service import accounts, metrics
from omnivideo.service.runtime import Runtime

router = face_router("kling", tags=["Metrics"])


def _allowed(host: str | None, allowed: list[str]) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in allowed
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry == host:
                return True
    return False


def app_registry(rt: Runtime) -> CollectorRegistry:
    """The gauges read from this app's store, in a registry of their own (one per app)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        metrics.StoreCollector(lambda: metrics.snapshot(rt.stores, rt.catalogue.queues()))
    )
    return registry


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    """Every omnivideo series in Prometheus text format."""
    rt: Runtime = request.app.state.runtime
    client = request.client.host if request.client else None
    if not (rt.settings.no_auth or _allowed(client, rt.settings.metrics_allow_hosts)):
        header = request.headers.get("authorization")
        await run_in_threadpool(accounts.authenticate, rt.stores.accounts, header)
    store_registry: Any = request.app.state.metrics_registry
    body = generate_latest(metrics.REGISTRY) + await run_in_threadpool(
        generate_latest, store_registry
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)
