"""The four providers the SDK speaks, and where their credentials come from.

- ``kling``: https://api-singapore.klingai.com, Kling's routes and bodies; a JWT signed
  locally from ``access_key`` + ``secret_key`` (``KLING_ACCESS_KEY`` + ``KLING_SECRET_KEY``).
- ``cometapi``: https://api.cometapi.com, Kling's routes under ``/kling``; ``api_key``
  (``COMETAPI_KEY``). Queries come in the official shape or the new-api wrapper.
- ``useapi``: https://api.useapi.net, flat fields (``POST /v1/kling/videos/omni``) and task
  documents; ``api_key`` (``USEAPI_TOKEN``), ``email`` (``USEAPI_EMAIL``). No
  ``external_task_id``, no task list.
- ``omnivideo``: http://127.0.0.1:8000 (``OMNIVIDEO_BASE_URL``), Kling's routes plus cancel
  and asset upload; ``api_key`` (``OMNIVIDEO_API_KEY``) or ``access_key`` + ``secret_key``
  (``OMNIVIDEO_ACCESS_KEY`` + ``OMNIVIDEO_SECRET_KEY``), or nothing for ``--no-auth``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from omnivideo.client._auth import Credentials, KlingSigner
from omnivideo.client.errors import AuthenticationError, InvalidRequestError, UnsupportedError

#: Kling's endpoints under ``/v1/audio/``
AUDIO_ENDPOINTS = frozenset({"text-to-audio", "video-to-audio"})

ProviderName = Literal["kling", "cometapi", "useapi", "omnivideo"]

__all__ = ["PROVIDERS", "Provider", "ProviderName", "get_provider", "resolve_credentials"]


@dataclass(frozen=True)
class Provider:
    """How one provider is reached: routes, wire format and what it can do."""

    name: str
    default_base_url: str
    #: "kling": Kling's body and envelope; "useapi": flat fields and task documents
    wire: Literal["kling", "useapi"]
    #: path prefix of the Kling routes ("/kling" on CometAPI)
    prefix: str = ""
    #: the provider finds a task by our ``external_task_id``: a create can be checked, not repeated
    external_ids: bool = True
    can_list: bool = True
    can_cancel: bool = False
    #: local files may be uploaded (``POST /v1/kling/assets``) instead of sent as Base64
    can_upload: bool = False
    api_key_env: str | None = None
    access_key_env: str | None = None
    secret_key_env: str | None = None
    base_url_env: str | None = None

    @property
    def create_path(self) -> str:
        return (
            "/v1/kling/videos/omni"
            if self.wire == "useapi"
            else f"{self.prefix}/v1/videos/omni-video"
        )

    def task_path(self, task_id: str, endpoint: str = "omni-video") -> str:
        if self.wire == "useapi":
            return f"/v1/kling/tasks/{task_id}"
        return f"{self.endpoint_path(endpoint)}/{task_id}"

    def endpoint_path(self, endpoint: str) -> str:
        """Create and list route of one of Kling's endpoints (Kling-style wires only): the
        video endpoints under ``/v1/videos/``, the audio ones under ``/v1/audio/``."""
        if self.wire == "useapi":
            raise UnsupportedError(f"{self.name} offers only omni-video, not {endpoint}")
        tree = "audio" if endpoint in AUDIO_ENDPOINTS else "videos"
        return f"{self.prefix}/v1/{tree}/{endpoint}"


PROVIDERS: dict[str, Provider] = {
    "kling": Provider(
        "kling",
        "https://api-singapore.klingai.com",
        "kling",
        access_key_env="KLING_ACCESS_KEY",
        secret_key_env="KLING_SECRET_KEY",
    ),
    "cometapi": Provider(
        "cometapi", "https://api.cometapi.com", "kling", prefix="/kling", api_key_env="COMETAPI_KEY"
    ),
    "useapi": Provider(
        "useapi",
        "https://api.useapi.net",
        "useapi",
        external_ids=False,
        can_list=False,
        can_upload=True,
        api_key_env="USEAPI_TOKEN",
    ),
    "omnivideo": Provider(
        "omnivideo",
        "http://127.0.0.1:8000",
        "kling",
        can_cancel=True,
        can_upload=True,
        api_key_env="OMNIVIDEO_API_KEY",
        access_key_env="OMNIVIDEO_ACCESS_KEY",
        secret_key_env="OMNIVIDEO_SECRET_KEY",
        base_url_env="OMNIVIDEO_BASE_URL",
    ),
}


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise InvalidRequestError(
            f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}"
        ) from None


def _env(environ: Mapping[str, str], name: str | None) -> str | None:
    return (environ.get(name) or None) if name else None


def base_url_for(
    provider: Provider, base_url: str | None, environ: Mapping[str, str] | None = None
) -> str:
    environ = os.environ if environ is None else environ
    url = base_url or _env(environ, provider.base_url_env) or provider.default_base_url
    return url.rstrip("/")


def resolve_credentials(
    provider: Provider,
    *,
    api_key: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Credentials from the arguments, else from the provider's environment variables.

    Arguments win over the environment; an access/secret key pair wins over an API key.
    Raises :class:`AuthenticationError` when the provider needs credentials and has none
    (omnivideo may run with ``--no-auth`` and needs none).
    """
    environ = os.environ if environ is None else environ
    if (access_key is None) != (secret_key is None):
        raise AuthenticationError("pass both access_key and secret_key, or neither")
    if access_key is None and api_key is None:
        access_key = _env(environ, provider.access_key_env)
        secret_key = _env(environ, provider.secret_key_env)
        if access_key is None or secret_key is None:
            access_key = secret_key = None
            api_key = _env(environ, provider.api_key_env)
    if access_key is not None and secret_key is not None:
        if provider.access_key_env is None:
            raise AuthenticationError(
                f"{provider.name} takes an API key, not an access and secret key"
            )
        return Credentials(signer=KlingSigner(access_key, secret_key))
    if api_key is not None:
        if provider.api_key_env is None:
            raise AuthenticationError(
                f"{provider.name} signs JWTs: pass access_key and secret_key "
                f"(or set {provider.access_key_env} and {provider.secret_key_env})"
            )
        return Credentials(api_key=api_key)
    if provider.name == "omnivideo":
        return Credentials()
    wanted = (
        f"{provider.access_key_env} and {provider.secret_key_env}"
        if provider.api_key_env is None
        else provider.api_key_env
    )
    raise AuthenticationError(f"no credentials for {provider.name}: pass them or set {wanted}")
