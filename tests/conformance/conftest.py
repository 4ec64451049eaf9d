import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import qemu_runner  # noqa: E402


@pytest.fixture(scope="session")
def qemu_tools():
    """Tool paths; fails under CI=true when tools are missing, skips otherwise."""
    try:
        tools = qemu_runner.find_tools()
    except qemu_runner.ToolsMissing as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and QEMU conformance tools are missing: {e}")
        pytest.skip(f"QEMU conformance tests need tools: {e}")
    qemu_runner.build_guest()
    return tools


def pytest_terminal_summary(terminalreporter):
    """Print the one-line conformance summary (if the conformance test ran)."""
    mod = sys.modules.get("test_conformance")
    state = getattr(mod, "STATE", None) if mod else None
    if not state or "report" not in state:
        return
    rep = state["report"]
    v = ".".join(map(str, state["version"]))
    terminalreporter.write_line(rep.summary_line())
    terminalreporter.write_line(
        f"conformance timings: QEMU {v} {state['t_qemu']:.2f}s, model+classify "
        f"{state['t_model']:.2f}s"
    )
