"""A real PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary directory,
TCP on a free loopback port. One per test session (``postgres`` fixture in tests/conftest.py);
each test that needs a clean slate asks for a database of its own.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user (or
``nobody``). Durability settings are relaxed (``fsync=off``): the tests check what the store
does, not the disk, and a clean restart keeps everything anyway.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import free_port
from tests.tools import in_ci

INSTALL_HINT = "apt-get install postgresql (make test installs it as root)"


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them per major version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_postgres() -> Path:
    import pytest

    bindir = postgres_bindir()
    if bindir is not None:
        return bindir
    message = f"PostgreSQL server binaries are not installed; install them with: {INSTALL_HINT}"
    if in_ci():
        pytest.fail(message + " (CI=true: tests may not skip)", pytrace=False)
    pytest.skip(message)


def _server_user() -> str | None:
    """The user the cluster runs as (None: this one)."""
    if os.getuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL as")


@dataclass
class PostgresServer:
    bindir: Path
    directory: Path
    port: int
    user: str | None
    superuser: str = "lpa2"
    _databases: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            check=True,
            capture_output=True,
            text=True,
            cwd=self.directory,
        )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", self.superuser, "-d", database, "-c", sql,
        ).stdout.strip()  # fmt: skip

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._databases)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)


def start_postgres(bindir: Path) -> PostgresServer:
    directory = Path(tempfile.mkdtemp(prefix="lpa2-pg-"))
    user = _server_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir, directory, free_port(), user)
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as error:
        log = server.log.read_text(errors="replace") if server.log.exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr}\n{log}") from error
    return server


def remove_postgres(server: PostgresServer) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop("immediate")
    for _ in range(50):
        if not (server.data / "postmaster.pid").exists():
            break
        time.sleep(0.1)
    shutil.rmtree(server.directory, ignore_errors=True)
