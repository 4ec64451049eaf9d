"""LPA2 Explorer web service: thin routes and view models over the `model` package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lpa2-explorer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
