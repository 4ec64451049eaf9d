"""Finding the system tools some tests need.

Outside CI a missing tool skips the test with the command that installs it; under CI=true a
missing tool is a failure, because CI must run every test.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(executable: str, install_hint: str) -> str:
    path = shutil.which(executable)
    if path:
        return path
    message = f"{executable} is not installed; install it with: {install_hint}"
    if in_ci():
        pytest.fail(message + " (CI=true: tests may not skip)", pytrace=False)
    pytest.skip(message)
