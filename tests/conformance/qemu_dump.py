"""Run one batch of AT scenarios whose tables stay in guest memory, then dump guest memory as
an ELF core file through QMP ``dump-guest-memory``: the real image a user would take of a
guest, holding tables that the AT instructions just walked.

The guest (``guest/main.c``) sees BLOB_KEEP in the batch header: it writes each scenario's
descriptors and never zeroes them, streams its results as usual, then waits. The host waits
for the results' trailer, connects to QEMU's QMP socket, dumps memory (``paging: false``:
physical memory, one PT_LOAD per RAM block placed at its guest physical address) and quits.

Scenarios of one batch share memory, so two scenarios may not give one address different
values. Guest RAM is smaller than the conformance suite's (``DUMP_RAM_SIZE``: the dump holds
all of it), so tables live in ``DUMP_TABLE_REGION``.

Usage::

    from qemu_dump import run_and_dump
    result = run_and_dump(scenarios, tmp_path / "guest.elf")
    result.pars      # as RunResult.pars
    result.dump      # the ELF core file
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from qemu_runner import (
    DONE_MAGIC,
    RAM_BASE,
    RESULTS_NAME,
    TABLE_REGION,
    Scenario,
    _parse_results,
    build_guest,
    encode_blob,
    encode_scenario,
    qemu_command,
    qemu_version,
)

BLOB_KEEP = 1
# RAM [0x4000_0000, 0x5100_0000): tables get 16 MiB above the conformance suite's reserved low
# area. The dump holds all of RAM, and QEMU writes it at about 130 MB/s here.
DUMP_RAM_SIZE = 272 << 20
DUMP_TABLE_REGION = (TABLE_REGION[0], RAM_BASE + DUMP_RAM_SIZE)


@dataclass
class DumpResult:
    pars: list = field(default_factory=list)  # int PAR or Marker, per scenario
    id_regs: dict = field(default_factory=dict)
    dump: Path | None = None
    elapsed: float = 0.0
    dump_seconds: float = 0.0
    qemu_version: tuple = ()


def shared_memory(scenarios: list[Scenario], ram_size: int = DUMP_RAM_SIZE) -> dict[int, int]:
    """Every descriptor of the batch; ValueError if two scenarios disagree on one, or one
    lies outside the dump's table region."""
    lo, hi = TABLE_REGION[0], RAM_BASE + ram_size
    memory: dict[int, int] = {}
    for s in scenarios:
        encode_scenario(s)
        for address, value in s.memory.items():
            if not lo <= address < hi:
                raise ValueError(
                    f"scenario {s.name}: {address:#x} is outside the dump's table region "
                    f"[{lo:#x}, {hi:#x})"
                )
            if memory.setdefault(address, value) != value:
                raise ValueError(
                    f"scenario {s.name}: {address:#x} = {value:#x}, but an earlier scenario "
                    f"of the batch wrote {memory[address]:#x} there"
                )
    return memory


class _Qmp:
    """A QMP client over a UNIX socket (one command at a time)."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rw", encoding="utf-8", newline="\n")
        self._read()  # the greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict:
        line = self.file.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def execute(self, command: str, **arguments) -> dict:
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message) + "\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']}")
            # events (e.g. DUMP_COMPLETED, STOP) are skipped

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _wait_for_file(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= 32:
            data = path.read_bytes()
            tail = data[len(data) - len(data) % 32 - 32 :][:8]
            if int.from_bytes(tail, "little") == DONE_MAGIC:
                return
        if proc.poll() is not None:
            return
        time.sleep(0.02)
    raise TimeoutError(f"the guest did not finish its batch in {timeout}s")


def run_and_dump(
    scenarios: list[Scenario],
    dump_path: Path,
    ram_size: int = DUMP_RAM_SIZE,
    timeout: float = 120.0,
) -> DumpResult:
    """Run ``scenarios`` in one boot with their tables kept, then dump guest memory to
    ``dump_path`` (ELF). Raises RuntimeError if QEMU fails before the dump."""
    t0 = time.monotonic()
    shared_memory(scenarios, ram_size)
    guest = build_guest()
    result = DumpResult(qemu_version=qemu_version())
    with tempfile.TemporaryDirectory(prefix="lpa2-dump-") as td:
        tdp = Path(td)
        blob = tdp / "batch.bin"
        blob.write_bytes(encode_blob(scenarios, flags=BLOB_KEEP))
        sock = tdp / "qmp.sock"
        cmd = qemu_command(guest, blob, ram_size) + ["-qmp", f"unix:{sock},server=on,wait=off"]
        log = (tdp / "qemu.log").open("wb")
        proc = subprocess.Popen(cmd, cwd=td, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            results = tdp / RESULTS_NAME
            _wait_for_file(results, proc, timeout)
            if proc.poll() is not None:
                raise RuntimeError(
                    f"QEMU exited ({proc.returncode}) before the dump: "
                    + (tdp / "qemu.log").read_text(errors="replace")[-500:]
                )
            qmp = _Qmp(sock, timeout)
            t1 = time.monotonic()
            qmp.execute("dump-guest-memory", paging=False, protocol=f"file:{dump_path}")
            result.dump_seconds = time.monotonic() - t1
            with contextlib.suppress(RuntimeError, OSError):
                qmp.execute("quit")  # QEMU may close the socket before answering
            qmp.close()
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        data = results.read_bytes() if results.exists() else b""
    id_regs, pars, done = _parse_results(data, len(scenarios))
    if id_regs is None or not done or len(pars) != len(scenarios):
        raise RuntimeError(f"the guest did not finish the batch ({len(pars)} results)")
    result.id_regs = id_regs
    result.pars = pars
    result.dump = dump_path
    result.elapsed = time.monotonic() - t0
    return result
