"""The Jinja2 environment shared by every route."""

from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates

from app import __version__
from app.assets import TEMPLATES_DIR, htmx_path, static_url
from app.images import served_image

# Names a plain dict answers as attributes (``d.items``, ``d.get``...): Jinja looks these up
# as attributes first, so they keep doing so.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(jinja2.Environment):
    """Jinja's environment with a fast path for ``view.name`` on a plain dict.

    The views are plain dicts, and Jinja resolves ``x.name`` by trying ``getattr`` first and
    the item only after the ``AttributeError``: a raised and caught exception for every field a
    template prints (hundreds per fragment). For a plain dict and a name that is not a dict
    attribute the answer is the same either way, so look the item up directly."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


templates = Jinja2Templates(
    env=Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape()
    )
)
templates.env.globals.update(
    served_image=served_image,
    static_url=static_url,
    htmx_src=htmx_path,
    app_version=__version__,
)
# Templates are read once: a running server never re-checks their files (restart to reload).
templates.env.auto_reload = False
