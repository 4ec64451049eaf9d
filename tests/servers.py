"""Real servers (``python -m app.server``) for the tests that need sockets, processes and
signals."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kb(self) -> int:
        """Resident set size of the server process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def worker_pids(self) -> list[int]:
        """The processes that serve: the server itself with one worker, else its children."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        workers = [p for p in pids if b"spawn_main" in _cmdline(p)]
        return workers or [self.pid]

    def peak_rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, like a power cut of the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    data_dir: Path,
    port: int | None = None,
    *extra: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    user: str | None = None,
    make_data_dir: bool = True,
) -> Server:
    """The production server (``python -m app.server``, one worker unless ``extra`` says
    ``--workers N``) on loopback; ``env`` adds to (or, with None values, removes from) this
    process's environment; ``user`` runs it as another user, with that user's group only (as
    root); ``make_data_dir=False`` leaves the data directory as it is (tests of broken ones)."""
    port = port or free_port()
    environment = dict(os.environ, LPA2_DATA_DIR=str(data_dir))
    environment.setdefault("LPA2_RATE_LIMITS", "off")  # the tests and benchmarks are one client
    environment.pop("LPA2_PUBLIC_URL", None)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    if make_data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    # util-linux's setpriv switches user and group and drops root's other groups
    as_user = []
    if user is not None:
        # The other user runs this checkout's code: every folder above it must let others in.
        closed = [p for p in (ROOT, *ROOT.parents) if not p.stat().st_mode & 0o001]
        if closed:
            raise RuntimeError(
                f"{closed[0]} does not let other users in, so the server cannot run as {user} "
                "from this checkout: clone it under a folder others may enter (chmod o+x)"
            )
        entry = pwd.getpwnam(user)
        as_user = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                   "--clear-groups"]  # fmt: skip
    log = log or Path(data_dir) / f"server-{port}.log"
    process = subprocess.Popen(
        [*as_user, sys.executable, "-m", "app.server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log", *extra],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )  # fmt: skip
    server = Server(process, port, Path(data_dir))
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1):
                return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(log.read_text(errors="replace")) from None
            time.sleep(0.05)
