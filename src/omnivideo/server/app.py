"""The app factory: settings in, a FastAPI app with every face out. Nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from omnivideo import __version__
from omnivideo.server import docs, errors, events, fallback, files, playground
from omnivideo.server import metrics as metrics_routes
from omnivideo.server.edge import EdgeMiddleware
from omnivideo.server.faces import cometapi as cometapi_face
from omnivideo.server.faces import elements as elements_face
from omnivideo.server.faces import kling as kling_face
from omnivideo.server.faces import kling3 as kling3_face
from omnivideo.server.faces import kling_audio as kling_audio_face
from omnivideo.server.faces import kling_video as kling_video_face
from omnivideo.server.faces import openai as openai_face
from omnivideo.server.faces import openai_edits as openai_edits_face
from omnivideo.server.faces import useapi as useapi_face
from omnivideo.server.openapi import document as openapi_document
from omnivideo.server.openapi import operation as openapi_operation
from omnivideo.server.openapi.wire.kling import Health
from omnivideo.server.responses import TolerantJSONResponse
from omnivideo.service import accounts, wiring
from omnivideo.service.runtime import Runtime
from omnivideo.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The API of ``runtime`` (opened from ``settings`` at start-up when not given). At start
    it also starts the runtime's workers (``settings.workers`` > 0) and callback delivery."""
    settings = settings or (runtime.settings if runtime is not None else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or wiring.open_runtime(settings)
        app.state.runtime = rt
        app.state.default_account = accounts.default_account_id(rt.stores.accounts)
        app.state.metrics_registry = metrics_routes.app_registry(rt)
        wiring.start(rt)
        try:
            yield
        finally:
            rt.stop()

    app = FastAPI(
        title="omnivideo",
        version=__version__,
        description="An open, self-hostable implementation of the Kling Omni Video API.",
        lifespan=lifespan,
        default_response_class=TolerantJSONResponse,
        # Both pages would load their scripts from a CDN; /docs is served offline instead.
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    openapi_document.install(app, auth=not settings.no_auth)
    # Inside Starlette's last resort, which would close the client's connection (see errors).
    app.add_middleware(errors.UnexpectedErrors)
    # Added last, so it runs first: metrics (which also time what the body limit refuses),
    # X-Request-Id and the body limit, in one layer
    app.add_middleware(EdgeMiddleware, max_bytes=settings.max_body_bytes)
    errors.install(app)

    @app.get("/healthz", tags=["Health"])
    @openapi_operation.describe(answer=Health)
    def healthz() -> JSONResponse:
        rt: Runtime = app.state.runtime
        engines = sorted({d.name for d in rt.catalogue.descriptors.values()})
        return JSONResponse({"status": "ok", "version": __version__, "engine": ", ".join(engines)})

    app.include_router(kling_face.router)
    app.include_router(kling_video_face.build_router())
    app.include_router(kling_audio_face.build_router())
    app.include_router(kling3_face.build_router())
    app.include_router(events.router)
    app.include_router(elements_face.router)
    # Kling's 1202 for the rest of its tree, before the OpenAI face: OpenAI's `/v1/videos/{id}`
    # takes only its own ids (`video_…`), never a Kling route.
    # OpenAI's fixed words under /v1/videos/ (edits, extensions, characters) come first.
    app.include_router(openai_edits_face.router)
    app.include_router(kling_video_face.unknown_routes())
    app.include_router(openai_face.router)
    app.include_router(openai_edits_face.unknown_routes())
    app.include_router(cometapi_face.router)
    app.include_router(kling_video_face.build_router("/kling"))
    app.include_router(kling_audio_face.build_router("/kling"))
    app.include_router(kling3_face.build_router("/kling"))
    app.include_router(useapi_face.router)
    app.include_router(files.router)
    app.include_router(metrics_routes.router)
    playground.install(app)
    # Last: whatever no route above knows answers 1202 in its tree's face.
    app.include_router(fallback.useapi_router)
    app.include_router(fallback.kling_router)
    return app
