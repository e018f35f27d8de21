"""`omnivideo serve | keys | still`."""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from omnivideo.cli.lazy import Lazy, LazyGroup
from omnivideo.contract.values import AspectRatio, Mode

if TYPE_CHECKING:
    # the server's settings need pydantic-settings, which the `cli` extra does not install
    from omnivideo.settings import Settings


class _Commands(LazyGroup):
    # The client-side commands import the SDK: only when they run (`--help` stays fast).
    lazy = {  # noqa: RUF012 (a class-level table, never mutated)
        "generate": Lazy(
            "omnivideo.cli.generate:generate",
            "Generate a video and save it as MP4; prints where (JSON when piped).",
            first=True,
        ),
        "tasks": Lazy(
            "omnivideo.cli.tasks:app", "Tasks in the local job log: list, show, wait for, download."
        ),
        "auth": Lazy("omnivideo.cli.auth:app", "Check the credentials of each provider."),
        "audio": Lazy("omnivideo.cli.audio:app", "Sound from Kling's audio endpoints."),
    }


app = typer.Typer(
    cls=_Commands,
    help="omnivideo: a self-hostable Kling Omni Video API.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage accounts' credentials.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
elements_app = typer.Typer(help="Manage the element library.", no_args_is_help=True)
app.add_typer(elements_app, name="elements")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (env OMNIVIDEO_DATA_DIR; default the per-user data directory, "
        "e.g. ~/.local/share/omnivideo).",
    ),
]
Lora = Annotated[
    list[str] | None,
    typer.Option(
        "--lora",
        help="wan: a LoRA PATH_OR_ID[:SCALE] (prefix high= or low= for one Wan2.2 expert), "
        "fused at start-up (repeatable; "
        "env OMNIVIDEO_LORA, comma-separated).",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="wan: sampling profile, default, distill-4step or distill-8step (env OMNIVIDEO_PROFILE).",
    ),
]
Gpus = Annotated[
    str | None,
    typer.Option(
        "--gpus",
        help="wan: spread each video over these GPUs, one rank each, e.g. 0,1,2,3 "
        "(env OMNIVIDEO_GPUS).",
    ),
]
ModelRoutes = Annotated[
    list[str] | None,
    typer.Option(
        "--model-route",
        help="Route a model to an engine: MODEL=ENGINE[:ENGINE_MODEL], e.g. "
        "kling-v3-omni=wan:/models/Wan2.1-VACE-14B-diffusers; * is every model (repeatable; "
        "env OMNIVIDEO_MODEL_ROUTES, comma-separated). Without routes every model goes to "
        "--engine/--model.",
    ),
]
CatalogueFile = Annotated[
    Path | None,
    typer.Option(
        "--catalogue",
        help="A catalogue file (TOML) of routes per model, mode or resolution, with engine "
        "options (env OMNIVIDEO_CATALOGUE).",
    ),
]
AudioModelOpt = Annotated[
    str | None,
    typer.Option(
        "--audio-model",
        help="wan: the audio model that serves sound: on (a diffusers Stable Audio Open "
        "directory or hub id; env OMNIVIDEO_AUDIO_MODEL); see docs/audio.md.",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database: SQLite in the data dir by default, or postgresql://USER@HOST/DB "
        "(env OMNIVIDEO_DATABASE_URL).",
    ),
]
Storage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Blob storage: a directory (default: the data dir's blobs) or s3://BUCKET/PREFIX "
        "with the standard AWS_* variables (env OMNIVIDEO_STORAGE).",
    ),
]


def _settings(**given: Any) -> Settings:
    from omnivideo.settings import Settings

    # Only options the user typed override the environment; the rest come from OMNIVIDEO_*.
    return Settings(**{k: v for k, v in given.items() if v is not None})


def _check_data_dir(path: Path) -> None:
    """Stop with one line naming the data directory when it cannot be created or written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        typer.echo(f"error: cannot open the data directory {path}: {reason}", err=True)
        raise typer.Exit(2) from None


#: where the first account's credentials go when nobody is at a terminal to read them
CREDENTIALS_FILE = "first-account-credentials.txt"


def _hand_over_credentials(creds: Any, data_dir: Path) -> None:
    """Show the first account's credentials to the person at the terminal; when the server runs
    unattended (a service, a container, output piped to a log), write them to a file only its
    owner can read and log where, so the secrets never land in a shared log."""
    if sys.stdout.isatty():
        _print_credentials(creds, "Created the first account. Its credentials:")
        return
    path = data_dir / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # an older file of another mode keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as out:
        out.write(_credentials_text(creds))
    typer.echo(f"Created the first account; its credentials are in {path} (mode 0600)", err=True)


def _credentials_text(creds: Any) -> str:
    return (
        f"  account:     {creds.account_id}\n"
        f"  access key:  {creds.access_key}\n"
        f"  secret key:  {creds.secret_key}\n"
        f"  API key:     {creds.api_key}\n"
        f"  webhook secret: {creds.webhook_secret}\n"
    )


def _print_credentials(creds: Any, heading: str) -> None:
    typer.echo(heading, err=True)
    typer.echo(f"  account:     {creds.account_id}", err=True)
    typer.echo(f"  access key:  {creds.access_key}", err=True)
    typer.echo(f"  secret key:  {creds.secret_key}", err=True)
    typer.echo(f"  API key:     {creds.api_key}", err=True)
    typer.echo(f"  webhook secret: {creds.webhook_secret}", err=True)
    typer.echo("  (shown once; use the API key as 'Authorization: Bearer <API key>',", err=True)
    typer.echo("   or sign a Kling JWT with the access and secret key)", err=True)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (env OMNIVIDEO_HOST; default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (env OMNIVIDEO_PORT; default 8000).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    storage: Storage = None,
    engine: Annotated[
        str | None, typer.Option(help="Engine (env OMNIVIDEO_ENGINE; default preview).")
    ] = None,
    model_route: ModelRoutes = None,
    catalogue: CatalogueFile = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Tasks rendered at once in this process (env OMNIVIDEO_WORKERS; default 1); "
            "0 serves the API only (with PostgreSQL, `omnivideo worker` processes render)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model directory or hub id of model engines such as wan (env OMNIVIDEO_MODEL)."
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help="Torch device of model engines, e.g. cuda (env OMNIVIDEO_DEVICE)."),
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option(help="Torch dtype of model engines, e.g. bfloat16 (env OMNIVIDEO_DTYPE)."),
    ] = None,
    offload: Annotated[
        str | None,
        typer.Option(help="CPU offload: none, model or sequential (env OMNIVIDEO_OFFLOAD)."),
    ] = None,
    vae_tiling: Annotated[
        bool | None,
        typer.Option("--vae-tiling", help="Decode the VAE in tiles (env OMNIVIDEO_VAE_TILING)."),
    ] = None,
    lora: Lora = None,
    profile: Profile = None,
    audio_model: AudioModelOpt = None,
    upstream: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream",
            help="Relay upstream PROVIDER=URL, tried in order; PROVIDER is kling, cometapi, useapi, "
            "omnivideo, or openai[.NAME] for a /v1/videos server (repeatable; env OMNIVIDEO_UPSTREAMS).",
        ),
    ] = None,
    upstream_concurrency: Annotated[
        int | None,
        typer.Option(
            help="Relay tasks at once per upstream (env OMNIVIDEO_UPSTREAM_CONCURRENCY; default 5)."
        ),
    ] = None,
    max_concurrent_tasks: Annotated[
        int | None,
        typer.Option(
            help="Tasks an account may have submitted or processing at once; more get 1303 "
            "(env OMNIVIDEO_MAX_CONCURRENT_TASKS; default 5)."
        ),
    ] = None,
    no_auth: Annotated[
        bool | None,
        typer.Option(
            "--no-auth",
            help="Accept requests without credentials, loopback only (env OMNIVIDEO_NO_AUTH).",
        ),
    ] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict",
            help="Reject prompt references to missing list entries (env OMNIVIDEO_STRICT).",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Host or CIDR that inputs and callbacks may reach although private (repeatable; env OMNIVIDEO_ALLOW_HOSTS).",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="Log level: debug, info, warning, error (env OMNIVIDEO_LOG_LEVEL; default info)."
        ),
    ] = None,
) -> None:
    """Start the API server (and its workers) on the embedded default: SQLite + the preview engine."""
    # Start-up allocates much and frees little (about 1,000 unreachable objects among 170,000):
    # each full collection on the way would walk a heap that only grows, for nothing.
    gc.disable()

    import uvicorn

    from omnivideo.contract.errors import OmniError
    from omnivideo.server.app import create_app
    from omnivideo.service.accounts import ensure_account
    from omnivideo.service.wiring import check_engine_shape, open_runtime

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        storage=storage,
        engine=engine,
        model_routes=model_route or None,
        catalogue=catalogue,
        workers=workers,
        model=model,
        device=device,
        dtype=dtype,
        offload=offload,
        vae_tiling=vae_tiling,
        lora=lora or None,
        profile=profile,
        audio_model=audio_model,
        upstreams=upstream or None,
        upstream_concurrency=upstream_concurrency,
        max_concurrent_tasks=max_concurrent_tasks,
        log_level=log_level,
        no_auth=no_auth,
        strict=strict,
        allow_hosts=allow_host or None,
    )
    if settings.no_auth and not settings.host_is_loopback():
        typer.echo(
            f"error: --no-auth is only allowed on a loopback host, not {settings.host}", err=True
        )
        raise typer.Exit(2)
    _configure_logging(settings.log_level)
    _check_data_dir(settings.data_dir)
    try:
        check_engine_shape(settings)
        _wait_for_database(settings)
        runtime = open_runtime(settings)
    except OmniError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    creds = ensure_account(runtime.stores.accounts)
    if creds is not None:
        _hand_over_credentials(creds, settings.data_dir)
    where = "PostgreSQL" if settings.distributed else str(settings.data_dir)
    routes = "; ".join(r.describe() for r in runtime.catalogue.routes)
    typer.echo(
        f"omnivideo listening on {settings.base_url} (routes: {routes}, "
        f"workers: {settings.workers}, data: {where}, blobs: {runtime.blobs.location})",
        err=True,
    )
    app = create_app(settings, runtime)
    # What start-up built (routes, schemas, models, the runtime) lives as long as the process.
    # Frozen, it is not walked again by every full collection the requests' garbage triggers:
    # a create costs about a tenth less CPU (bench/api.py). Not collected first: that would
    # walk all of it once (40 ms of the start) to free next to nothing.
    gc.freeze()
    gc.enable()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Above info no access line is printed, but uvicorn would still gather each one's
        # parts (client address, path and query) for the logger to drop.
        access_log=settings.log_level.lower() in ("trace", "debug", "info"),
        # Set on purpose for bursts: queue connections, refuse the excess with a 503, and never
        # drop a keep-alive connection a client may be reusing.
        backlog=settings.backlog,
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=30,
    )


def _wait_for_database(settings: Settings) -> None:
    """PostgreSQL only: wait for the database to answer (it may be starting beside us), or stop
    with one line naming it."""
    if not settings.distributed:
        return
    from omnivideo.store.wait import DatabaseUnavailable, wait_for_database

    try:
        wait_for_database(settings.db_url, settings.db_wait_s)
    except DatabaseUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _configure_logging(level: str) -> None:
    import logging

    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Migrations are routine at every start; say only when something is wrong.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _stores(data_dir: Path | None, database_url: str | None = None) -> Any:
    from omnivideo.service.wiring import open_stores

    return open_stores(_settings(data_dir=data_dir, database_url=database_url))


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    storage: Storage = None,
    data_dir: DataDir = None,
    engine: Annotated[
        str | None, typer.Option(help="Engine (env OMNIVIDEO_ENGINE; default preview).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Tasks rendered at once by this worker (env OMNIVIDEO_WORKERS).")
    ] = 1,
    model: Annotated[
        str | None, typer.Option(help="Model of model engines such as wan (env OMNIVIDEO_MODEL).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="Torch device (env OMNIVIDEO_DEVICE).")] = None,
    dtype: Annotated[str | None, typer.Option(help="Torch dtype (env OMNIVIDEO_DTYPE).")] = None,
    lora: Lora = None,
    profile: Profile = None,
    gpus: Gpus = None,
    audio_model: AudioModelOpt = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL clients reach the API at, for result URLs (env OMNIVIDEO_PUBLIC_URL)."
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Host or CIDR that callbacks may reach although private (repeatable).",
        ),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level (default info).")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics at :PORT/metrics."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface of the metrics port (default loopback).")
    ] = "127.0.0.1",
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            help="The deployment's catalogue file: the worker takes the options of the route "
            "to its --engine/--model from it (env OMNIVIDEO_CATALOGUE).",
        ),
    ] = None,
) -> None:
    """Render tasks taken from the shared PostgreSQL queue; serves no API.

    It takes only the tasks of its engine and model (one queue each), keeps the model warm, logs
    each task it takes and finishes, and on SIGTERM finishes or hands back its task.
    """
    from omnivideo.contract.errors import OmniError
    from omnivideo.service.wiring import open_runtime, run_worker

    settings = _settings(
        database_url=database_url,
        storage=storage,
        data_dir=data_dir,
        engine=engine,
        workers=concurrency,
        model=model,
        device=device,
        dtype=dtype,
        lora=lora or None,
        profile=profile,
        gpus=gpus,
        audio_model=audio_model,
        public_url=public_url,
        allow_hosts=allow_host or None,
        log_level=log_level,
        catalogue=catalogue,
    )
    _configure_logging(settings.log_level)
    if not settings.distributed:
        typer.echo(
            "error: omnivideo worker takes tasks from PostgreSQL: give --database-url "
            "postgresql://… (the embedded SQLite server renders in `omnivideo serve`)",
            err=True,
        )
        raise typer.Exit(2)
    if settings.engine == "wan":
        # A mistake in the engine's settings is said at once, not after waiting for a database.
        from omnivideo.engines.wan.options import WanOptions

        try:
            WanOptions.parse(settings.engine_options())
        except OmniError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(2) from None
    _wait_for_database(settings)

    def serve_queue() -> None:
        # Rank 0 (or the only process): the engine is built here, after any other ranks joined.
        runtime = open_runtime(settings, worker=True)
        if metrics_port is not None:
            from omnivideo.service.metrics import serve_worker_metrics

            serve_worker_metrics(metrics_port, metrics_host)
        run_worker(runtime)

    try:
        if settings.engine == "wan" and settings.gpus:
            from omnivideo.engines.wan import launch_ranks

            launch_ranks(settings.engine_options(), serve_queue)
        else:
            serve_queue()
    except OmniError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


UnitsOpt = Annotated[
    float | None,
    typer.Option("--units", help="A resource pack of this many Kling units (none: unlimited)."),
]
ExpiresOpt = Annotated[
    str | None,
    typer.Option("--expires", help="When the pack expires: an ISO date/time (UTC) or '30d'."),
]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name for the new account.")] = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    units: UnitsOpt = None,
    expires: ExpiresOpt = None,
) -> None:
    """Create an account and print its access key, secret key and API key (shown once)."""
    from omnivideo.service.accounts import create_account

    stores = _stores(data_dir, database_url)
    creds = create_account(stores.accounts, name)
    if units is not None:
        _grant(stores, creds.account_id, units, expires)
    if as_json:
        typer.echo(json.dumps(creds.__dict__))
    else:
        typer.echo(
            f"account:        {creds.account_id}\naccess key:     {creds.access_key}\n"
            f"secret key:     {creds.secret_key}\nAPI key:        {creds.api_key}\n"
            f"webhook secret: {creds.webhook_secret}"
        )


@keys_app.command("list")
def keys_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List credentials (secrets are not shown)."""
    rows = [
        {
            "account": k.account_id,
            "name": k.name,
            "access_key": k.access_key,
            "api_key_prefix": k.api_key_prefix + "…",
            "revoked": k.revoked,
        }
        for k in _stores(data_dir, database_url).accounts.list_keys()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        typer.echo(
            f"{row['access_key']}  {row['api_key_prefix']:<14} {row['account']}  {row['name']}  {state}"
        )


def _grant(store: Any, account_id: str, units: float, expires: str | None) -> Any:
    from omnivideo.cli.packs import expiry_ms
    from omnivideo.service import packs

    try:
        return packs.grant(store.packs, account_id, units, expires_at=expiry_ms(expires))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@keys_app.command("grant")
def keys_grant(
    access_key: str,
    units: Annotated[float, typer.Option("--units", help="Kling units in the new pack.")],
    expires: ExpiresOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give the account behind ACCESS_KEY a resource pack; its tasks then spend its units."""
    store = _stores(data_dir, database_url)
    key = store.accounts.key_by_access_key(access_key)
    if key is None:
        typer.echo(f"error: no key {access_key}", err=True)
        raise typer.Exit(1)
    pack = _grant(store, key.account_id, units, expires)
    until = f", expires {pack.expires_at} (ms)" if pack.expires_at else ""
    typer.echo(f"granted {units:g} units to account {key.account_id} (pack {pack.id}{until})")


@keys_app.command("revoke")
def keys_revoke(
    access_key: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Revoke a credential set by its access key (its JWTs and API key stop working)."""
    if not _stores(data_dir, database_url).accounts.revoke_key(access_key):
        typer.echo(f"error: no active key {access_key}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {access_key}")


@elements_app.command("add-preset")
def elements_add_preset(
    name: Annotated[str, typer.Option(help="Element name (at most 20 characters).")],
    frontal: Annotated[
        Path, typer.Option(help="Frontal image (JPG or PNG).", exists=True, dir_okay=False)
    ],
    refer: Annotated[
        list[Path] | None,
        typer.Option(help="Reference image (repeatable, up to 3).", exists=True, dir_okay=False),
    ] = None,
    description: Annotated[str, typer.Option(help="Description (at most 100 characters).")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    storage: Storage = None,
) -> None:
    """Register a preset element that every account can use in element_list."""
    from omnivideo.contract.errors import OmniError
    from omnivideo.service import elements
    from omnivideo.service.wiring import open_runtime

    if len(name) > 20 or len(description) > 100 or len(refer or []) > 3:
        typer.echo(
            "error: name ≤ 20 characters, description ≤ 100, at most 3 --refer images", err=True
        )
        raise typer.Exit(2)
    runtime = open_runtime(
        _settings(data_dir=data_dir, database_url=database_url, storage=storage), render=False
    )
    try:
        record = elements.add_preset(runtime, name, frontal, list(refer or []), description)
    except OmniError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"preset element {record.element_id}: {record.name}")


@elements_app.command("list")
def elements_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List preset elements."""
    for record in _stores(data_dir, database_url).elements.page(None, 0, 500):
        typer.echo(f"{record.element_id}  {record.name}  {record.description}")


@app.command()
def still(
    output: Annotated[Path, typer.Argument(help="PNG file to write.")],
    prompt: Annotated[
        str, typer.Option(help="The prompt to render.")
    ] = "A red fox trotting through fresh snow at dawn, cinematic",
    mode: Annotated[Mode, typer.Option(help="std (720p) or pro (1080p).")] = "pro",
    aspect_ratio: Annotated[AspectRatio, typer.Option(help="16:9, 9:16 or 1:1.")] = "16:9",
    at_second: Annotated[float, typer.Option(help="Time of the frame.")] = 2.5,
) -> None:
    """Render one frame of a preview video to a PNG."""
    from omnivideo.cli.still import make_still

    make_still(output, prompt, mode=mode, aspect_ratio=aspect_ratio, at_second=at_second)
    typer.echo(str(output))


#: what the server-side commands import that the `cli` extra does not install
_SERVER_STACK = {"fastapi", "uvicorn", "sqlalchemy", "pydantic_settings", "platformdirs", "av"}


def main() -> None:
    try:
        app(prog_name="omnivideo", standalone_mode=True)
    except ModuleNotFoundError as exc:
        # `serve`, `worker`, `keys`, … with only the `cli` extra: one line saying what to install
        if (exc.name or "").split(".")[0] not in _SERVER_STACK:
            raise
        print(
            f"error: this command needs the server extra ({exc.name} is not installed): "
            "pip install -e '.[server]' in a checkout",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
