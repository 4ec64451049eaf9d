"""The Jinja2 environment shared by every route."""

from fastapi.templating import Jinja2Templates

from app import __version__
from app.assets import TEMPLATES_DIR, htmx_path, static_url

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals.update(
    static_url=static_url,
    htmx_src=htmx_path,
    app_version=__version__,
)
# Templates are read once: a running server never re-checks their files (restart to reload).
templates.env.auto_reload = False
