"""The web playground at `/playground` (plain JS modules and CSS shipped in the package, no
CDN, no build step) and the capability map it builds its form from."""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from omnivideo.contract.capabilities import CAPABILITIES, MODELS, MODES
from omnivideo.contract.request import AspectRatio
from omnivideo.server.errors import face_router
from omnivideo.service.catalogue import ANY, Catalogue

router = face_router("kling", include_in_schema=False)

ASSETS = Path(str(files("omnivideo.server") / "playground"))


def capabilities(catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The capability map as JSON: what each model accepts in each mode, for the models and
    modes this server routes (all of them without a catalogue), and which engine serves each."""
    models = catalogue.models() if catalogue is not None else list(MODELS)
    rows = []
    for row in CAPABILITIES.values():
        if catalogue is not None and not _routed(catalogue, row.model_name, row.mode):
            continue
        item = asdict(row)
        fixed = item["fixed_durations_s"]
        item["fixed_durations_s"] = sorted(fixed) if fixed is not None else None
        item["multi_shot"] = row.multi_shot
        rows.append(item)
    return {
        "models": [m for m in MODELS if m in models],
        "modes": list(MODES),
        "aspect_ratios": list(get_args(AspectRatio)),
        "capabilities": rows,
        # omnivideo's catalogue: the engine (and engine model, queue) behind each model
        "serving": catalogue.serving() if catalogue is not None else [],
    }


def _routed(catalogue: Catalogue, model: str, mode: str) -> bool:
    return any(r.model in (ANY, model) and r.mode in (None, mode) for r in catalogue.routes)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/playground", status_code=307)


@router.get("/playground")
def page() -> FileResponse:
    # no-cache: after an upgrade the browser revalidates instead of running an old page.
    return FileResponse(ASSETS / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/v1/omnivideo/capabilities", include_in_schema=True, tags=["omnivideo"])
def capability_map(request: Request) -> dict[str, Any]:
    """omnivideo extension: every served model's modes, durations, shots and sound, as the
    server checks them, and the engine that serves each model (``serving``)."""
    return capabilities(request.app.state.runtime.catalogue)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/playground/assets", StaticFiles(directory=ASSETS), name="playground-assets")
