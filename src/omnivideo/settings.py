"""One settings object for the server: `OMNIVIDEO_*` environment variables and CLI options."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_data_dir() -> Path:
    """Where a server keeps its data unless told: the per-user data directory
    (``~/.local/share/omnivideo`` on Linux, honouring ``XDG_DATA_HOME``), so starting it from
    another working directory finds the same tasks and credentials."""
    return platformdirs.user_data_path("omnivideo")


class Settings(BaseSettings):
    """Server settings. Every field is also an ``OMNIVIDEO_<NAME>`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="OMNIVIDEO_", extra="ignore")

    #: interface the API binds (``0.0.0.0``: every interface, as in a container)
    host: str = "127.0.0.1"
    #: port the API listens on
    port: int = 8000
    #: database, inputs and outputs live here (default: the user's data directory)
    data_dir: Path = Field(default_factory=default_data_dir)
    #: the database: SQLite in the data dir by default, or ``postgresql://user@host/db``
    database_url: str | None = None
    #: where blobs live: a directory (default: ``blobs`` in the data dir) or ``s3://bucket/prefix``
    storage: str = ""
    #: signs result URLs; every replica needs the same one (default: made once, kept in the db)
    secret_key: str | None = None
    #: seconds ``serve`` and ``worker`` wait at start for a PostgreSQL database that does not
    #: answer yet (a container starting beside them), retrying with backoff, before giving up
    db_wait_s: float = Field(default=60.0, ge=0)
    #: engine that renders tasks (an ``omnivideo.engines`` entry point)
    engine: str = "preview"
    #: model of engines that load one (a diffusers directory or a hub id, for `wan`)
    model: str | None = None
    #: routes ``MODEL=ENGINE[:ENGINE_MODEL]`` (``*`` for every model), tried before the
    #: catalogue file's; without routes every model goes to ``engine`` / ``model``
    model_routes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: a catalogue file (TOML): routes per model, mode or resolution, with engine options
    catalogue: Path | None = None
    #: torch device of model engines ("cuda", "cpu", "cuda:1")
    device: str | None = None
    #: torch dtype of model engines ("bfloat16", "float16", "float32")
    dtype: str | None = None
    #: CPU offload of model engines: none | model | sequential
    offload: str | None = None
    #: decode the VAE in tiles (less GPU memory for large videos)
    vae_tiling: bool = False
    #: LoRAs of the wan engine, ``[high=|low=]PATH_OR_ID[:SCALE]``, fused at start-up
    lora: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: sampling profile of the wan engine (``default``, ``distill-4step``, ``distill-8step``)
    profile: str | None = None
    #: GPUs one wan worker spreads each video over (context parallelism), e.g. "0,1,2,3"
    gpus: str | None = None
    #: the audio model that gives wan videos their sound (``sound: on``): a diffusers-format
    #: Stable Audio Open directory or hub id; runs on the wan engine's device and dtype
    audio_model: str | None = None
    #: relay upstreams, tried in order: "PROVIDER=BASE_URL" (kling, cometapi, useapi, omnivideo,
    #: openai or openai.NAME for /v1/videos servers)
    upstreams: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: tasks the relay runs at once on one upstream (more wait in line, rather than provoke 1303)
    upstream_concurrency: int = Field(default=5, ge=1)
    #: the relay polls its upstream every this many seconds at first ...
    relay_poll_s: float = Field(default=1.0, gt=0)
    #: ... growing to this
    relay_max_poll_s: float = Field(default=5.0, gt=0)
    #: log level of the server (debug, info, warning, error)
    log_level: str = "info"
    #: tasks rendered at once by this process (0: serve the API only, workers render elsewhere)
    workers: int = Field(default=1, ge=0, le=64)
    #: a rendering worker writes a heartbeat this often (seconds) ...
    heartbeat_s: float = Field(default=5.0, gt=0)
    #: ... and a task whose worker stayed silent this long is taken over by another worker
    stall_after_s: float = Field(default=30.0, gt=0)
    #: a worker retries an unreachable bucket this long (seconds) before a task fails for it
    storage_retry_s: float = Field(default=300.0, ge=0)
    #: tasks an account may have submitted or processing at once (Kling's concurrency limit)
    max_concurrent_tasks: int = Field(default=5, ge=1)
    #: seconds a verified key is remembered (0: off); a revocation still reaches every
    #: replica within a second (the cache watches the keys table)
    auth_cache_s: float = Field(default=60.0, ge=0)
    #: accept requests without credentials (loopback hosts only)
    no_auth: bool = False
    #: reject prompt references to list entries that do not exist
    strict: bool = False
    #: base URL clients reach this server at (for result URLs); defaults to http://host:port
    public_url: str | None = None
    #: lifetime of signed result URLs in seconds (Kling keeps results 30 days)
    url_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    #: connections waiting to be accepted in a burst (the kernel caps it at net.core.somaxconn)
    backlog: int = Field(default=2048, ge=16)
    #: connections served at once; beyond it a new request gets a 503 at once, not a reset
    limit_concurrency: int = Field(default=1000, ge=8)
    #: an idle keep-alive connection is closed after this many seconds: longer than clients and
    #: proxies keep theirs (httpx 5 s, nginx 60 s), so it is the client that closes it, never
    #: the server while the client is sending on it
    keep_alive_s: int = Field(default=75, ge=1)
    #: largest request body accepted, in bytes (Base64 images and videos travel in it)
    max_body_bytes: int = Field(default=300 * 1024 * 1024, ge=1024)
    #: hosts or CIDRs that input URLs and callbacks may reach although private (e.g. 127.0.0.1)
    allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: CometAPI face query shape: "a" (official envelope passed through) or "b" (task wrapper)
    cometapi_shape: Literal["a", "b"] = "a"
    #: server-wide simulation, same syntax as the X-Omnivideo-Simulate header
    simulate: str = ""
    #: seconds between callback delivery tries start here and double up to callback_max_backoff_s
    callback_min_backoff_s: float = 1.0
    #: the longest pause between two tries of one callback (seconds)
    callback_max_backoff_s: float = 600.0
    #: a callback is given up after this many seconds of failed tries
    callback_give_up_s: float = 48 * 3600.0
    #: seconds one callback delivery may take before it counts as failed (and is retried)
    callback_timeout_s: float = 10.0
    #: hosts or CIDRs that may scrape /metrics without an API key (others need one)
    metrics_allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    #: event streams read the task rows this often (seconds); any replica sees every change
    events_poll_s: float = Field(default=0.25, gt=0, le=10)

    @field_validator(
        "allow_hosts", "upstreams", "metrics_allow_hosts", "model_routes", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def engine_options(self) -> dict[str, object]:
        """Options handed to the engine's constructor; engines ignore what they do not use."""
        given = {
            "model": self.model,
            "device": self.device,
            "dtype": self.dtype,
            "offload": self.offload,
        }
        options: dict[str, object] = {k: v for k, v in given.items() if v is not None}
        if self.vae_tiling:
            options["vae_tiling"] = True
        if self.lora:
            options["lora"] = tuple(self.lora)
        if self.profile:
            options["profile"] = self.profile
        if self.gpus:
            options["gpus"] = self.gpus
        if self.audio_model:
            options["audio_model"] = self.audio_model
        if self.upstreams:
            options["upstreams"] = list(self.upstreams)
            options["upstream_concurrency"] = self.upstream_concurrency
            options["poll_interval_s"] = self.relay_poll_s
            options["max_poll_interval_s"] = self.relay_max_poll_s
        return options

    @property
    def db_path(self) -> Path:
        return self.data_dir / "omnivideo.db"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def distributed(self) -> bool:
        """PostgreSQL: tasks go through procrastinate, so workers may run on other hosts."""
        return self.db_url.startswith(("postgresql", "postgres:"))

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def host_is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
