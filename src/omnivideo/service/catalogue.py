"""The model catalogue: which engine (and which of its models) serves each model name.

A deployment serves model names a client sends (``kling-video-o1``, ``kling-v3-omni``, …).
Each goes to a **route**: an engine, the engine's own model (a checkpoint, for ``wan``) and the
engine's options. A route's queue is its engine and engine model (:func:`queue_name`), so the
workers of one route take only its tasks and each pool is scaled on its own.

Routes come from, in this order (the first that matches a task wins):

1. ``--model-route MODEL=ENGINE[:ENGINE_MODEL]`` (repeatable; ``OMNIVIDEO_MODEL_ROUTES``,
   comma-separated); ``*`` as MODEL matches every model;
2. the catalogue file (TOML, ``--catalogue`` / ``OMNIVIDEO_CATALOGUE``), for what a flag
   cannot say: a route per mode or resolution, per-route engine options;
3. without either, every model goes to ``--engine`` / ``--model``, as before routes existed.

Every process builds the routes' *descriptors* (light: no weights, no torch); only processes
that render build a route's engine (see :mod:`omnivideo.service.wiring`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from omnivideo.contract.capabilities import MODELS
from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import TaskSpec
from omnivideo.engines.base import EngineDescriptor, load_engine_class
from omnivideo.queue.base import queue_name

#: a route for every model name
ANY: Final = "*"
#: the output's short side for each resolution a route may be limited to
RESOLUTIONS: Final = {"720p": 720, "1080p": 1080, "4k": 2160}
_ROUTE_KEYS: Final = {"model", "engine", "engine_model", "mode", "resolution", "options"}


@dataclass(frozen=True)
class Route:
    """One line of the catalogue: tasks of ``model`` (in ``mode``, at ``resolution``) go to
    ``engine`` running ``engine_model``, with ``options`` over the server's engine settings."""

    model: str
    engine: str
    engine_model: str | None = None
    #: "std" or "pro"; None: any
    mode: str | None = None
    #: "720p", "1080p" or "4k"; None: any
    resolution: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return queue_name(self.engine, self.engine_model)

    def matches(self, spec: TaskSpec) -> bool:
        if self.model not in (ANY, spec.model):
            return False
        if self.mode is not None and self.mode != spec.mode:
            return False
        return self.resolution is None or RESOLUTIONS[self.resolution] == min(
            spec.width, spec.height
        )

    def describe(self) -> str:
        where = f"{self.engine}:{self.engine_model}" if self.engine_model else self.engine
        limits = " ".join(x for x in (self.mode, self.resolution) if x)
        return f"{self.model}{f' ({limits})' if limits else ''} -> {where}"


def parse_model_route(text: str) -> Route:
    """``MODEL=ENGINE[:ENGINE_MODEL]`` -> a route; a malformed one is a start-up error."""
    model, sep, target = text.partition("=")
    model, target = model.strip(), target.strip()
    engine, _, engine_model = target.partition(":")
    if not sep or not model or not engine.strip():
        raise OmniError(
            5000,
            f"model route {text!r}: expected MODEL=ENGINE[:ENGINE_MODEL], "
            "e.g. kling-v3-omni=wan:/models/Wan2.1-VACE-14B-diffusers",
        )
    return _checked(Route(model=model, engine=engine.strip(), engine_model=engine_model or None))


def read_catalogue(path: Path) -> list[Route]:
    """The routes of a catalogue file::

    [[routes]]
    model = "kling-video-o1"
    mode = "std"                       # optional: std | pro
    resolution = "720p"                # optional: 720p | 1080p | 4k
    engine = "wan"
    engine_model = "/models/Wan2.1-VACE-1.3B-diffusers"
    options = { profile = "distill-4step" }
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OmniError(5000, f"catalogue {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OmniError(5000, f"catalogue {path}: not valid TOML ({exc})") from None
    entries = data.get("routes")
    if not isinstance(entries, list) or not entries:
        raise OmniError(5000, f"catalogue {path}: expected one or more [[routes]] tables")
    routes = []
    for i, entry in enumerate(entries):
        where = f"catalogue {path}: routes[{i}]"
        unknown = set(entry) - _ROUTE_KEYS
        if unknown:
            raise OmniError(
                5000,
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_ROUTE_KEYS))}",
            )
        if not isinstance(entry.get("model"), str) or not isinstance(entry.get("engine"), str):
            raise OmniError(5000, f"{where}: needs model and engine (strings)")
        options = entry.get("options", {})
        if not isinstance(options, dict):
            raise OmniError(5000, f"{where}: options must be a table")
        route = Route(
            model=entry["model"],
            engine=entry["engine"],
            engine_model=entry.get("engine_model"),
            mode=entry.get("mode"),
            resolution=entry.get("resolution"),
            options=dict(options),
        )
        routes.append(_checked(route, where))
    return routes


def _checked(route: Route, where: str = "") -> Route:
    prefix = f"{where}: " if where else f"model route {route.describe()}: "
    if route.model != ANY and route.model not in MODELS:
        raise OmniError(
            5000, f"{prefix}unknown model {route.model!r}; models: {', '.join(MODELS)} or *"
        )
    if route.mode not in (None, "std", "pro"):
        raise OmniError(5000, f"{prefix}mode must be std or pro, not {route.mode!r}")
    if route.resolution is not None and route.resolution not in RESOLUTIONS:
        raise OmniError(
            5000,
            f"{prefix}resolution must be one of {', '.join(RESOLUTIONS)}, not {route.resolution!r}",
        )
    return route


class Catalogue:
    """The routes of a deployment and their descriptors (one per queue)."""

    def __init__(self, routes: list[Route], descriptors: Mapping[str, EngineDescriptor]) -> None:
        self.routes = list(routes)
        self.descriptors = dict(descriptors)

    @classmethod
    def build(
        cls, routes: Iterable[Route], base_options: Mapping[str, object] | None = None
    ) -> Catalogue:
        """Describe every route's engine (configs only, nothing loaded).

        Routes to one queue (the same engine and engine model) share one descriptor, and so one
        pool of workers: they must not ask for different options.
        """
        routes = list(routes)
        descriptors: dict[str, EngineDescriptor] = {}
        options_of: dict[str, dict[str, object]] = {}
        for route in routes:
            options = route_options(route, base_options or {})
            if route.queue in options_of:
                if options_of[route.queue] != options:
                    raise OmniError(
                        5000,
                        f"routes to queue {route.queue!r} ask for different engine options; "
                        "one engine model runs with one set of options",
                    )
                continue
            options_of[route.queue] = options
            descriptors[route.queue] = load_engine_class(route.engine).describe(options)
        return cls(routes, descriptors)

    def route_for(self, spec: TaskSpec) -> Route:
        """The route that serves ``spec``; 1203 naming what this server offers when none does."""
        for route in self.routes:
            if route.matches(spec):
                return route
        offered = self.models()
        if spec.model in offered:
            # Served, but not in this mode or at this size.
            limits = [r.describe() for r in self.routes if r.model == spec.model]
            raise OmniError(
                1203,
                f"model_name: {spec.model} is served here only as {'; '.join(limits)}; "
                f"not in mode {spec.mode} at {spec.width}x{spec.height}",
            )
        raise OmniError(
            1203,
            f"model_name: {spec.model} is not served by this server; it offers "
            f"{', '.join(offered) or 'no model'}",
        )

    def descriptor(self, route: Route) -> EngineDescriptor:
        return self.descriptors[route.queue]

    def models(self) -> list[str]:
        """Model names this server serves, in catalogue order."""
        if any(r.model == ANY for r in self.routes):
            return list(MODELS)
        return list(dict.fromkeys(r.model for r in self.routes))

    def queues(self) -> list[str]:
        return list(self.descriptors)

    def serving(self) -> list[dict[str, object]]:
        """For each model name, the routes (engine, engine model, limits, queue) that serve it."""
        out: list[dict[str, object]] = []
        for model in self.models():
            for route in self.routes:
                if route.model not in (ANY, model):
                    continue
                out.append(
                    {
                        "model": model,
                        "mode": route.mode,
                        "resolution": route.resolution,
                        "queue": route.queue,
                        **self.descriptor(route).describe(),
                        "engine_model": route.engine_model,
                    }
                )
        return out


def route_options(route: Route, base: Mapping[str, object]) -> dict[str, object]:
    """The options a route's engine is built with: the server's engine settings, the route's
    own options over them, and the route's engine model as ``model``."""
    options = {**base, **route.options}
    if route.engine_model is not None:
        options["model"] = route.engine_model
    return options
