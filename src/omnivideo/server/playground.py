"""The web playground at `/playground` (plain JS modules and CSS shipped in the package, no
CDN, no build step) and the capability map it builds its form from."""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from omnivideo.contract.capabilities import CAPABILITIES, MODELS, MODES
from omnivideo.contract.request import AspectRatio
from omnivideo.server.errors import face_router

router = face_router("kling", include_in_schema=False)

ASSETS = Path(str(files("omnivideo.server") / "playground"))


def capabilities() -> dict[str, Any]:
    """The capability map as JSON: what each model accepts in each mode."""
    rows = []
    for row in CAPABILITIES.values():
        item = asdict(row)
        fixed = item["fixed_durations_s"]
        item["fixed_durations_s"] = sorted(fixed) if fixed is not None else None
        item["multi_shot"] = row.multi_shot
        rows.append(item)
    return {
        "models": list(MODELS),
        "modes": list(MODES),
        "aspect_ratios": list(get_args(AspectRatio)),
        "capabilities": rows,
    }


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/playground", status_code=307)


@router.get("/playground")
def page() -> FileResponse:
    # no-cache: after an upgrade the browser revalidates instead of running an old page.
    return FileResponse(ASSETS / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/v1/omnivideo/capabilities", include_in_schema=True, tags=["omnivideo"])
def capability_map() -> dict[str, Any]:
    """omnivideo extension: every model's modes, durations, shots and sound, as the server
    checks them."""
    return capabilities()


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/playground/assets", StaticFiles(directory=ASSETS), name="playground-assets")
