"""The service's ground floor: health, the pinned htmx, and the container recipe."""

import json
import re
import shlex

from app import __version__
from app.assets import ROOT
from app.main import DEFAULT_PORT


def test_healthz_reports_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def pinned_npm_version(name: str) -> str:
    package = json.loads((ROOT / "package.json").read_text())
    pin = package["dependencies"][name]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pin), f"{name} must be pinned to an exact version"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    locked = lock["packages"][f"node_modules/{name}"]
    assert locked["version"] == pin
    assert locked["integrity"].startswith("sha512-")
    return pin


def pinned_htmx_version() -> str:
    return pinned_npm_version("htmx.org")


def test_page_references_served_htmx_of_pinned_version(client):
    pin = pinned_htmx_version()
    page = client.get("/").text
    sources = re.findall(r'<script src="([^"]+)"', page)
    htmx_sources = [src for src in sources if "htmx" in src]
    assert htmx_sources == [f"/static/vendor/htmx-{pin}.min.js"]
    served = client.get(htmx_sources[0])
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    # The minified build carries its own version string: it must be the pinned one.
    assert f'version:"{pin}"' in served.text


def test_explorer_references_served_idiomorph_of_pinned_version(client):
    """The explorer's answers morph regions into place: idiomorph from npm, pinned, served
    under its version, loaded before the extension that uses it (static/js/morph.js)."""
    pin = pinned_npm_version("idiomorph")
    page = client.get("/").text
    sources = re.findall(r'<script src="([^"]+)"', page)
    morph = f"/static/vendor/idiomorph-{pin}.min.js"
    assert morph in sources
    extension = next(src for src in sources if src.startswith("/static/js/morph.js"))
    assert sources.index(morph) < sources.index(extension)
    assert 'hx-ext="morph"' in page
    served = client.get(morph)
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert "Idiomorph" in served.text


def test_htmx_file_is_not_committed():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "static/vendor/" in ignored
    assert "node_modules/" in ignored


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_dockerfile_runs_the_app_entry_point_on_the_app_port():
    rows = dockerfile_instructions()
    stages = [rest for keyword, rest in rows if keyword == "FROM"]
    assert len(stages) >= 2, "multi-stage: assets, then the Python runtime"
    assert any("node" in stage for stage in stages[:-1])
    assert "python" in stages[-1]
    (cmd,) = [json.loads(rest) for keyword, rest in rows if keyword == "CMD"]
    assert cmd == ["python", "-m", "app.server"]  # the production server (app/server.py)
    env = dict(
        item.split("=", 1) for keyword, rest in rows if keyword == "ENV" for item in rest.split()
    )
    assert env["LPA2_PORT"] == str(DEFAULT_PORT)
    assert [rest for keyword, rest in rows if keyword == "EXPOSE"] == [str(DEFAULT_PORT)]
    users = [rest for keyword, rest in rows if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    (healthcheck,) = [rest for keyword, rest in rows if keyword == "HEALTHCHECK"]
    assert f"127.0.0.1:{DEFAULT_PORT}/readyz" in healthcheck


def test_dockerfile_installs_what_the_makefile_installs():
    rows = dockerfile_instructions()
    runs = " ".join(rest for keyword, rest in rows if keyword == "RUN")
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt -e ." in runs and "-c constraints.txt -e ." in makefile
    assert "npm ci --ignore-scripts" in runs and "npm ci --ignore-scripts" in makefile
    assert "node_modules/htmx.org/dist/htmx.min.js" in runs


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, flags=re.MULTILINE)
    assert "make test" in commands and "make run" in commands
    ci_commands = [shlex.split(line) for line in ci.splitlines() if line.startswith("make ")]
    assert ["make", "test"] in ci_commands
    assert "export CI=true" in ci


def test_healthz_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert "/healthz" in schema["paths"]
