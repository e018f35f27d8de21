"""`omnivideo auth check | status`: are the credentials there, and does the provider take them?"""

from __future__ import annotations

import json
import os

import typer

from omnivideo.cli.generate import (
    BaseUrlOpt,
    JsonOpt,
    ProviderOpt,
    emit,
    fail,
    make_client,
    want_json,
)
from omnivideo.client import OmniVideoError
from omnivideo.client.providers import PROVIDERS

app = typer.Typer(help="Check the credentials of each provider.", no_args_is_help=True)


@app.command("check")
def check(
    provider: ProviderOpt = "omnivideo",
    base_url: BaseUrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send one authenticated request; exit 5 when the credentials are refused."""
    as_json = want_json(as_json)
    client = make_client(provider, base_url, as_json)
    with client:
        try:
            client.check_auth()
        except OmniVideoError as exc:
            fail(exc, as_json, {"provider": provider, "base_url": client.base_url, "ok": False})
    data = {
        "provider": client.provider.name,
        "base_url": client.base_url,
        "credentials": client.credentials.describe(),
        "ok": True,
    }
    emit(data, as_json, f"{provider} at {client.base_url}: ok ({data['credentials']})")


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Which providers have credentials in the environment (no request is sent)."""
    rows = []
    for name, p in PROVIDERS.items():
        names = [n for n in (p.api_key_env, p.access_key_env, p.secret_key_env) if n]
        rows.append(
            {"provider": name, "set": [n for n in names if os.environ.get(n)], "env": names}
        )
    if want_json(as_json):
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            state = ", ".join(row["set"]) or "no credentials"
            typer.echo(f"{row['provider']:<10} {state}")
