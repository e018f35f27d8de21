"""`omnivideo serve | keys | still`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from omnivideo.cli import auth as auth_cli
from omnivideo.cli import generate as generate_cli
from omnivideo.cli import tasks as tasks_cli
from omnivideo.contract.request import AspectRatio, Mode
from omnivideo.settings import Settings

app = typer.Typer(
    help="omnivideo: a self-hostable Kling Omni Video API.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage accounts' credentials.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
elements_app = typer.Typer(help="Manage the element library.", no_args_is_help=True)
app.add_typer(elements_app, name="elements")
app.command("generate")(generate_cli.generate)
app.add_typer(tasks_cli.app, name="tasks")
app.add_typer(auth_cli.app, name="auth")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (env OMNIVIDEO_DATA_DIR; default ./omnivideo-data)."
    ),
]


def _settings(**given: Any) -> Settings:
    # Only options the user typed override the environment; the rest come from OMNIVIDEO_*.
    return Settings(**{k: v for k, v in given.items() if v is not None})


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
    engine: Annotated[
        str | None, typer.Option(help="Engine (env OMNIVIDEO_ENGINE; default preview).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Tasks rendered at once (env OMNIVIDEO_WORKERS; default 1).")
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
    upstream: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream",
            help="Relay upstream PROVIDER=URL, tried in order (repeatable; env OMNIVIDEO_UPSTREAMS).",
        ),
    ] = None,
    upstream_concurrency: Annotated[
        int | None,
        typer.Option(
            help="Relay tasks at once per upstream (env OMNIVIDEO_UPSTREAM_CONCURRENCY; default 5)."
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
    import logging

    import uvicorn

    from omnivideo.contract.errors import OmniError
    from omnivideo.server.app import create_app
    from omnivideo.service.accounts import ensure_account
    from omnivideo.service.runtime import open_runtime

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        engine=engine,
        workers=workers,
        model=model,
        device=device,
        dtype=dtype,
        offload=offload,
        vae_tiling=vae_tiling,
        upstreams=upstream or None,
        upstream_concurrency=upstream_concurrency,
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
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Migrations are routine at every start; say only when something is wrong.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        runtime = open_runtime(settings)
    except OmniError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    creds = ensure_account(runtime.store)
    if creds is not None:
        _print_credentials(creds, "Created the first account. Its credentials:")
    typer.echo(
        f"omnivideo listening on {settings.base_url} (engine: {settings.engine}, data: {settings.data_dir})",
        err=True,
    )
    uvicorn.run(
        create_app(settings, runtime),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


def _store(data_dir: Path | None) -> Any:
    from omnivideo.store.db import make_engine, migrate, sqlite_url
    from omnivideo.store.repo import Store

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(settings.db_path))
    migrate(engine)
    return Store(engine)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name for the new account.")] = "default",
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an account and print its access key, secret key and API key (shown once)."""
    from omnivideo.service.accounts import create_account

    creds = create_account(_store(data_dir), name)
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
    data_dir: DataDir = None, as_json: Annotated[bool, typer.Option("--json")] = False
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
        for k in _store(data_dir).list_keys()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        typer.echo(
            f"{row['access_key']}  {row['api_key_prefix']:<14} {row['account']}  {row['name']}  {state}"
        )


@keys_app.command("revoke")
def keys_revoke(access_key: str, data_dir: DataDir = None) -> None:
    """Revoke a credential set by its access key (its JWTs and API key stop working)."""
    if not _store(data_dir).revoke_key(access_key):
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
) -> None:
    """Register a preset element that every account can use in element_list."""
    from omnivideo.contract.errors import OmniError
    from omnivideo.service import elements
    from omnivideo.service.runtime import open_runtime

    if len(name) > 20 or len(description) > 100 or len(refer or []) > 3:
        typer.echo(
            "error: name ≤ 20 characters, description ≤ 100, at most 3 --refer images", err=True
        )
        raise typer.Exit(2)
    runtime = open_runtime(_settings(data_dir=data_dir))
    try:
        record = elements.add_preset(runtime, name, frontal, list(refer or []), description)
    except OmniError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"preset element {record.element_id}: {record.name}")


@elements_app.command("list")
def elements_list(data_dir: DataDir = None) -> None:
    """List preset elements."""
    for record in _store(data_dir).list_elements(None, 0, 500):
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


def main() -> None:
    app(prog_name="omnivideo")


if __name__ == "__main__":
    main()
