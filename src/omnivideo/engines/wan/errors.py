"""The one place where torch, diffusers and hub errors become ``OmniError``.

    loading (constructor)     anything               -> 5000 "could not load the Wan model ..."
    rendering                 CUDA out of memory     -> 5000 "out of GPU memory ... (try --offload)"
                              anything else          -> propagates (the worker logs it, 5000)

``Cancelled`` and ``OmniError`` always pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import Cancelled


@contextmanager
def loading_errors(model: str) -> Iterator[None]:
    try:
        yield
    except (OmniError, Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OmniError(
            5000, f"could not load the Wan model {model!r}: {type(exc).__name__}: {detail}"
        ) from exc


def _is_oom(exc: BaseException) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is installed with the wan extra
        return False
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


@contextmanager
def rendering_errors() -> Iterator[None]:
    try:
        yield
    except (OmniError, Cancelled):
        raise
    except RuntimeError as exc:
        if _is_oom(exc):
            raise OmniError(
                5000,
                "out of GPU memory while rendering; start the server with --offload model "
                "(or sequential) and --vae-tiling, or a lower OMNIVIDEO_WAN_RESOLUTION",
            ) from exc
        raise
