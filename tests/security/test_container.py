"""The container files, checked without Docker (it cannot run here): the Dockerfile pins its base
images by digest, keeps links in a volume, runs the production command and checks readiness,
and that command and check work when run as written; compose.yaml runs two replicas of that
image over a PostgreSQL service with health checks; .dockerignore keeps the data out."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from app.settings import DEFAULT_DATA_DIR, LINKS_DB_NAME
from tests.servers import ROOT, free_port

DIGEST = re.compile(r"^\S+:\S+@sha256:[0-9a-f]{64}$")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        word, _, rest = text.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            env.update(item.split("=", 1) for item in rest.split())
    return env


def exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), rest
    return value


DOCKERFILE = instructions(ROOT / "Dockerfile")
FINAL = final_stage(DOCKERFILE)
ENV = env_of(FINAL)
CMD = exec_form(next(rest for word, rest in FINAL if word == "CMD"))
HEALTHCHECK = next(rest for word, rest in FINAL if word == "HEALTHCHECK")
CHECK = exec_form(HEALTHCHECK[HEALTHCHECK.index("CMD ") + 4 :])
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(text: str, **env: str) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}``."""

    def value(match: re.Match) -> str:
        name, kind, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in env:
            return env[name]
        assert kind != ":?", f"{name} is required: {rest}"
        return rest

    return re.sub(r"\$\{([A-Z_]+)(:[-?])?([^}]*)\}", value, text)


def test_base_images_are_pinned_by_digest():
    images = [rest.split()[0] for word, rest in DOCKERFILE if word == "FROM"]
    assert len(images) == 2
    for image in images + [COMPOSE["services"]["postgres"]["image"]]:
        assert DIGEST.match(image), image


def test_image_runs_the_production_command_as_a_user_with_a_volume():
    assert CMD == ["python", "-m", "app.server"]
    user = next(rest for word, rest in FINAL if word == "USER")
    assert user not in ("root", "0")
    volumes = [v for word, rest in FINAL if word == "VOLUME" for v in exec_form(rest)]
    assert volumes == [ENV["LPA2_DATA_DIR"]]
    assert ENV["LPA2_HOST"] == "0.0.0.0"
    expose = [rest for word, rest in FINAL if word == "EXPOSE"]
    assert expose == [ENV["LPA2_PORT"]]
    assert "/readyz" in " ".join(CHECK) and "--timeout=3s" in HEALTHCHECK
    for word, rest in DOCKERFILE:  # everything copied from the build context exists
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_production_command_and_health_check_work_as_written(tmp_path):
    """The image's CMD with the image's environment (the address and data directory moved to
    this machine), then its HEALTHCHECK command against it: exit status 0."""
    port = free_port()
    env = dict(os.environ, **ENV)
    env.update(LPA2_HOST="127.0.0.1", LPA2_PORT=str(port), LPA2_DATA_DIR=str(tmp_path))
    env.update(LPA2_WORKERS="2")
    command = [sys.executable if part == "python" else part for part in CMD]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)  # fmt: skip
    try:
        check = [sys.executable if part == "python" else part for part in CHECK]
        check = [part.replace(":8000/", f":{port}/") for part in check]
        deadline = time.monotonic() + 30
        while subprocess.run(check, capture_output=True).returncode != 0:
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_compose_runs_two_replicas_over_postgresql():
    services = COMPOSE["services"]
    assert set(services) == {"app", "postgres"}
    app, postgres = services["app"], services["postgres"]
    assert app["build"] == "." and app["deploy"]["replicas"] == 2
    assert "command" not in app or app["command"] == CMD  # the image's production command
    assert app["healthcheck"]["test"] == ["CMD", *CHECK]
    assert app["ports"] == ["8000-8001:8000"]  # one host port per replica
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = urlsplit(interpolate(app["environment"]["LPA2_DATABASE_URL"], POSTGRES_PASSWORD="pw"))
    assert url.password == "pw"
    assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
    pg_env = postgres["environment"]
    assert url.username == pg_env["POSTGRES_USER"] and url.path == "/" + pg_env["POSTGRES_DB"]
    assert "${POSTGRES_PASSWORD:?" in pg_env["POSTGRES_PASSWORD"]  # no default password
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    named = [v.split(":")[0] for v in postgres["volumes"]]
    assert named == ["links"] and "links" in COMPOSE["volumes"]


def test_dockerignore_keeps_data_and_local_state_out():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.replace("**/", ""))
            or path.startswith(p.rstrip("/") + "/")
            for p in patterns
        )  # fmt: skip

    for path in (f"{DEFAULT_DATA_DIR}/{LINKS_DB_NAME}", f"{DEFAULT_DATA_DIR}/{LINKS_DB_NAME}-wal",
                 f"data/{LINKS_DB_NAME}", f"app/{LINKS_DB_NAME}-shm", ".venv/bin/python",
                 "node_modules/htmx.org/package.json", ".git/HEAD"):  # fmt: skip
        assert ignored(path), path
    for path in ("app/main.py", "model/__init__.py", "templates/base.html", "constraints.txt"):
        assert not ignored(path), path
