"""The omnivideo SDK: one client for Kling, CometAPI, useapi.net and omnivideo servers.

    from omnivideo.client import Client

    with Client("kling") as client:          # KLING_ACCESS_KEY / KLING_SECRET_KEY
        done = client.videos.create_and_wait(
            "A red fox trotting through fresh snow", model_name="kling-v3-omni",
            mode="std", duration=5, download_to="fox.mp4",
        )

Imports only pydantic, httpx and PyJWT (plus :mod:`omnivideo.contract` and
:mod:`omnivideo.dialects`), so it installs without the server.
"""

from __future__ import annotations

from omnivideo.client import webhooks
from omnivideo.client._async_client import (
    AsyncClient,
    AsyncEndpointVideos,
    AsyncKling3Videos,
    AsyncVideos,
)
from omnivideo.client._auth import KlingSigner
from omnivideo.client._client import Client, EndpointVideos, Generation, Kling3Videos, Videos
from omnivideo.client.errors import (
    AuthenticationError,
    BillingError,
    ContentPolicyError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OmniVideoError,
    RateLimitError,
    ServerError,
    TaskFailed,
    UnsupportedError,
    WaitTimeout,
    WebhookVerificationError,
)
from omnivideo.client.providers import PROVIDERS, Provider
from omnivideo.contract.task import TaskStatus, TaskView, VideoResult

__all__ = [
    "PROVIDERS",
    "AsyncClient",
    "AsyncEndpointVideos",
    "AsyncKling3Videos",
    "AsyncVideos",
    "AuthenticationError",
    "BillingError",
    "Client",
    "ContentPolicyError",
    "EndpointVideos",
    "Generation",
    "InvalidRequestError",
    "Kling3Videos",
    "KlingSigner",
    "NetworkError",
    "NotFoundError",
    "OmniVideoError",
    "Provider",
    "RateLimitError",
    "ServerError",
    "TaskFailed",
    "TaskStatus",
    "TaskView",
    "UnsupportedError",
    "VideoResult",
    "Videos",
    "WaitTimeout",
    "WebhookVerificationError",
    "webhooks",
]
