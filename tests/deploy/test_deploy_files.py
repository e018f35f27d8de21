"""The deployment files are checked without a container engine: the compose file against the
Compose Specification's schema (what `docker compose config` validates), the Dockerfile's
stages and commands, and the KEDA examples against the code and a real PostgreSQL queue."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests import pg

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
KEDA = ROOT / "deploy" / "keda"


# -- the command line every file runs -----------------------------------------------------------


def check_cli_args(args: list[str]) -> None:
    """Parse ``omnivideo ARGS`` with the real command line (click), as the container would,
    without running it: an unknown command or option, or a bad value, fails here."""
    import typer

    from omnivideo.cli.main import app

    group: Any = typer.main.get_command(app)  # typer's own copy of click's Group
    name, *rest = args
    command = group.commands.get(name)
    assert command is not None, f"omnivideo has no command {name!r}"
    with command.make_context(name, list(rest)) as ctx:
        assert ctx.params is not None


def check_settings_env(env: dict[str, Any]) -> None:
    """Every OMNIVIDEO_* variable given is a setting the server reads."""
    from omnivideo.settings import Settings

    known = {f"OMNIVIDEO_{name.upper()}" for name in Settings.model_fields}
    given = {k for k in env if k.startswith("OMNIVIDEO_")}
    assert given <= known, f"unknown settings: {sorted(given - known)}"


def test_the_cli_check_catches_a_wrong_option() -> None:
    check_cli_args(["serve", "--workers", "0"])
    with pytest.raises(Exception, match="No such option"):
        check_cli_args(["serve", "--replicas", "2"])
    with pytest.raises(AssertionError, match="no command"):
        check_cli_args(["api"])


# -- Dockerfile -----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        word, _, rest = pending.partition(" ")
        steps.append((word.upper(), rest.strip()))
        pending = ""
    return steps


def stages() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for word, rest in dockerfile():
        if word == "FROM":
            image, _, name = rest.partition(" AS ")
            current = {"from": image.strip(), "steps": [], "needs": set()}
            found[name.strip()] = current
            if image.strip() in found:
                current["needs"].add(image.strip())
            continue
        if current is None:
            assert word == "ARG", f"{word} before the first FROM"  # an ARG for FROM lines
            continue
        current["steps"].append((word, rest))
        copied = re.match(r"--from=(\S+)", rest)
        if word == "COPY" and copied:
            current["needs"].add(copied[1])
    return found


def ancestry(name: str, all_stages: dict[str, dict[str, Any]]) -> set[str]:
    seen = {name}
    for need in all_stages[name]["needs"]:
        seen |= ancestry(need, all_stages)
    return seen


def test_dockerfile_stages_api_without_torch_and_worker_with_its_torch_build() -> None:
    all_stages = stages()
    assert {"api", "worker"} <= set(all_stages)
    api_runs = [
        rest
        for s in ancestry("api", all_stages)
        for w, rest in all_stages[s]["steps"]
        if w == "RUN"
    ]
    assert any("'.[server,postgres,s3]'" in run for run in api_runs)
    assert not any(re.search(r"torch|wan|diffusers", run) for run in api_runs), api_runs
    worker = ancestry("worker", all_stages)
    args = {rest.split("=")[0] for s in worker for w, rest in all_stages[s]["steps"] if w == "ARG"}
    assert {"TORCH_INDEX_URL", "TORCH_VERSION"} <= args
    runs = " ".join(rest for s in worker for w, rest in all_stages[s]["steps"] if w == "RUN")
    assert '--index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"' in runs
    assert re.search(r"'\.\[[a-z0-9,]*\bwan\b[a-z0-9,]*\]'", runs)
    # the default torch is the one the lock was resolved against
    default = next(
        rest.split("=", 1)[1]
        for s in worker
        for w, rest in all_stages[s]["steps"]
        if w == "ARG" and rest.startswith("TORCH_VERSION=")
    )
    assert f"torch=={default}" in (ROOT / "requirements" / "torch.txt").read_text()


def test_dockerfile_installs_the_locked_versions_of_real_extras() -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    checked = 0
    for word, rest in dockerfile():
        if word != "RUN" or "pip install" not in rest:
            continue
        for command in rest.split("&&"):
            if "pip install" not in command or "torch==" in command:
                continue
            assert "-c requirements/constraints.txt" in command, command
            groups = re.findall(r"'\.\[([a-z0-9,]+)\]'", command)
            assert groups, command
            for group in groups:
                assert set(group.split(",")) <= extras, command
                checked += 1
    assert checked == 2


def test_dockerfile_copies_what_exists_and_runs_real_commands() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for word, rest in dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") not in ignored, f"{source} is in .dockerignore"
    all_stages = stages()
    for name in ("api", "worker"):
        steps = dict(all_stages[name]["steps"])
        assert json.loads(steps["ENTRYPOINT"]) == ["omnivideo"]
        check_cli_args(json.loads(steps["CMD"]))
        port = re.search(r"127\.0\.0\.1:(\d+)/", steps["HEALTHCHECK"])
        assert port and port[1] == steps["EXPOSE"], (name, steps["HEALTHCHECK"])
        assert steps["USER"] == "omnivideo"


# -- compose ------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())
    # and the check is real: a misspelt key is refused
    broken = compose()
    broken["services"]["db"]["helthcheck"] = broken["services"]["db"].pop("healthcheck")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def omnivideo_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in doc["services"].items()
        if isinstance(svc.get("build"), dict) and svc["build"].get("target") in {"api", "worker"}
    }


def test_compose_runs_two_api_replicas_without_wan_and_a_worker_on_one_queue() -> None:
    from omnivideo.queue.base import queue_name

    doc = compose()
    services = omnivideo_services(doc)
    targets = set(stages())
    apis = {n: s for n, s in services.items() if s["build"]["target"] == "api"}
    workers = {n: s for n, s in services.items() if s["build"]["target"] == "worker"}
    assert len(apis) == 2 and len(workers) >= 1
    queues = set()
    for name, svc in services.items():
        assert svc["build"]["target"] in targets
        assert (COMPOSE.parent / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        check_cli_args(svc["command"])
        check_settings_env(svc["environment"])
        env = svc["environment"]
        engine = env.get("OMNIVIDEO_ENGINE", "preview")
        queues.add(queue_name(engine, env.get("OMNIVIDEO_MODEL")))
        if name in apis:
            assert svc["command"][:1] == ["serve"] and "--workers" in svc["command"]
            assert svc["command"][svc["command"].index("--workers") + 1] == "0"
            assert engine != "wan" and "--engine" not in svc["command"], name
    assert len(queues) == 1, f"the API and the workers name different queues: {queues}"
    assert set(workers["worker"]["build"]["args"]) == {"TORCH_INDEX_URL", "TORCH_VERSION"}


def test_compose_services_are_healthchecked_restarted_and_wait_for_health() -> None:
    doc = compose()
    for name, svc in doc["services"].items():
        if svc.get("restart") == "no":  # a one-shot job
            continue
        assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}, name
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for need, how in svc.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully"
                if doc["services"][need].get("restart") == "no"
                else "service_healthy"
            )
            assert how["condition"] == wanted, (name, need)


def test_compose_postgres_has_connections_for_every_process() -> None:
    from omnivideo.queue.postgres import DEFER_POOL_MAX, WORKER_POOL_MAX
    from omnivideo.store.db import MAX_OVERFLOW, REQUEST_THREADS

    doc = compose()
    command = doc["services"]["db"]["command"]
    settings = dict(command[i + 1].split("=", 1) for i, part in enumerate(command) if part == "-c")
    per_process = REQUEST_THREADS + MAX_OVERFLOW + DEFER_POOL_MAX + WORKER_POOL_MAX
    processes = len(omnivideo_services(doc)) + 1  # and one admin command (keys create …)
    reserved = 3  # superuser_reserved_connections
    assert int(settings["max_connections"]) - reserved >= processes * per_process


# -- KEDA ---------------------------------------------------------------------------------------


def keda_docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((KEDA / name).read_text()) if d]


def deployments() -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d for d in keda_docs("workers.yaml") if d["kind"] == "Deployment"
    }


def deployment_queue(deployment: dict[str, Any]) -> str:
    from omnivideo.queue.base import queue_name

    container = deployment["spec"]["template"]["spec"]["containers"][0]
    check_cli_args(container["args"])
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    check_settings_env(env)
    return queue_name(env.get("OMNIVIDEO_ENGINE", "preview"), env.get("OMNIVIDEO_MODEL"))


def test_worker_deployments_select_their_own_pods() -> None:
    for name, d in deployments().items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert d["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


@pytest.mark.parametrize("file", ["scaledobjects.yaml", "scaledobjects-prometheus.yaml"])
def test_each_route_is_scaled_on_its_own_queue(file: str) -> None:
    workers = deployments()
    scaled = [d for d in keda_docs(file) if d["kind"] == "ScaledObject"]
    assert {d["spec"]["scaleTargetRef"]["name"] for d in scaled} == set(workers)
    for d in scaled:
        assert d["apiVersion"] == "keda.sh/v1alpha1"
        target = d["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        queue = deployment_queue(workers[target["name"]])
        (trigger,) = d["spec"]["triggers"]
        meta = trigger["metadata"]
        if trigger["type"] == "postgresql":
            assert f"queue_name = '{queue}'" in meta["query"] and "status = 'todo'" in meta["query"]
            float(meta["targetQueryValue"])
            auth = trigger["authenticationRef"]["name"]
            assert any(
                a["kind"] == "TriggerAuthentication" and a["metadata"]["name"] == auth
                for a in keda_docs(file)
            )
        else:
            assert trigger["type"] == "prometheus"
            assert f'omnivideo_queue_depth{{queue="{queue}"}}' in meta["query"]
            float(meta["threshold"])
        assert d["spec"]["minReplicaCount"] <= d["spec"]["maxReplicaCount"]


def test_the_postgresql_trigger_counts_the_waiting_jobs_of_its_queue() -> None:
    import procrastinate
    import psycopg

    from omnivideo.queue.postgres import TASK_NAME, ensure_schema

    triggers = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["triggers"][0]["metadata"]["query"]
        for d in keda_docs("scaledobjects.yaml")
        if d["kind"] == "ScaledObject"
    }
    queues = {name: deployment_queue(d) for name, d in deployments().items()}
    with pg.fresh_database() as url:
        ensure_schema(url)
        app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url))
        app.task(name=TASK_NAME, pass_context=False)(lambda task_id: None)
        with app.open():
            waiting = {name: i + 2 for i, name in enumerate(sorted(queues))}
            for name, count in waiting.items():
                for n in range(count):
                    app.configure_task(TASK_NAME, queue=queues[name]).defer(task_id=f"{name}{n}")
            # a job already taken by a worker is not waiting
            some = sorted(queues)[0]
            app.configure_task(TASK_NAME, queue=queues[some]).defer(task_id="taken")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE procrastinate_jobs SET status = 'doing' WHERE args->>'task_id' = 'taken'"
            )
            for name, query in triggers.items():
                (count,) = conn.execute(query).fetchone()  # type: ignore[misc]
                assert count == waiting[name], (name, shlex.quote(query))
