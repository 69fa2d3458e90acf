"""URLs for the site's own static files that change when the files do, so browsers keep them a year.

The files in ``static/`` are served at ``/assets/``. Pages link to them through
``asset_url("maps.js")``, which gives ``/assets/maps.js?v=`` and the first 12 hex
digits of the file's sha256: a new file is a new URL. A request whose ``v`` is the
current file's gets ``Cache-Control: public, max-age=31536000, immutable``;
any other (an old page's URL, no ``v`` at all) gets the site's default, an hour
(leftbehind/site/guard.py), and the current file. Datasette's own stylesheet, which
Datasette links with its hash as the query string (``app.css?0a1b2c``), is treated
the same way.

Other static files (Datasette's scripts, the plugins' Leaflet, clustering and
Vega) keep the hour: their URLs stay the same when an upgrade changes them, and
their pages link them in templates that are not the site's.

What pages load, and no more:

- Leaflet is the minified file datasette-leaflet ships beside the one it links
  (``leaflet-v1.7.1.min.js``: 146 KB, 40 KB compressed, against 276 KB and 56 KB), for the
  site's maps, datasette-cluster-map's and the dashboards' alike (``use_minified_leaflet``);
- the dashboard pages load Leaflet only when a chart is a map (the filter ``without_assets``;
  the site's dashboard has none). They load Vega, which only they load: datasette-dashboards'
  script needs it to start, whatever its charts;
- the SQL editor is loaded when someone edits SQL (``templates/_codemirror.html``,
  ``static/sql-editor.js``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs

from datasette import hookimpl
from markupsafe import Markup, escape

ASSETS_MOUNT = "assets"
VERSION_DIGITS = 12
IMMUTABLE = b"public, max-age=31536000, immutable"
STYLESHEETS = ("site.css",)  # linked on every page (extra_css_urls)


def assets_folder(datasette) -> Path | None:
    for mount, folder in datasette.static_mounts:
        if mount == ASSETS_MOUNT:
            return resolved(folder)
    return None


@functools.lru_cache(maxsize=64)
def resolved(folder: str) -> Path:
    """The configured folder's real path, found once (every page links the stylesheet, and every
    request is asked whether it names a versioned file)."""
    return Path(folder).resolve()


_versions: dict[tuple[str, int, int], str] = {}


def file_version(path: Path) -> str | None:
    """The first hex digits of the file's sha256; None if it is not a file.

    Remembered by path, size and modification time, so a file edited while
    ``make serve`` runs gets a new version.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _versions:
        _versions[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:VERSION_DIGITS]
    return _versions[key]


def asset_path(folder: Path, name: str) -> Path | None:
    """``name`` inside the assets folder, or None if it would lead outside it."""
    path = (folder / name).resolve()
    return path if path.is_relative_to(folder) else None


@functools.lru_cache(maxsize=256)
def named_asset_path(folder: Path, name: str) -> Path | None:
    """``asset_path``, found once for each name a template links (the file's version is still read
    from its size and time on each use)."""
    return asset_path(folder, name)


def asset_url(datasette, name: str) -> str:
    """``/assets/NAME?v=VERSION`` (through Datasette's base_url), or without ``v`` if the file is not there."""
    url = datasette.urls.path(f"/{ASSETS_MOUNT}/{name}")
    folder = assets_folder(datasette)
    path = named_asset_path(folder, name) if folder else None
    version = file_version(path) if path else None
    return f"{url}?v={version}" if version else url


def is_current_version(datasette, path: str, query_string: bytes) -> bool:
    """Whether this request names a static file by its current content."""
    if path == "/-/static/app.css":
        return query_string.decode("latin-1") == datasette.app_css_hash()
    prefix = f"/{ASSETS_MOUNT}/"
    if not path.startswith(prefix):
        return False
    folder = assets_folder(datasette)
    if folder is None:
        return False
    asked = parse_qs(query_string.decode("latin-1")).get("v", [])
    file = asset_path(folder, path[len(prefix):])
    return len(asked) == 1 and file is not None and asked[0] == file_version(file)


def immutable_when_versioned(app, datasette):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or not is_current_version(datasette, scope["path"], scope.get("query_string", b"")):
            await app(scope, receive, send)
            return

        async def send_immutable(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", IMMUTABLE)]}
            await send(message)

        await app(scope, receive, send_immutable)

    return wrapped


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: immutable_when_versioned(app, datasette)


MINIFIED_LEAFLET = "leaflet-v1.7.1.min.js"


def use_minified_leaflet() -> None:
    """Make datasette-leaflet link the minified Leaflet it ships (it reads ``JS_FILE`` on every use)."""
    try:
        import datasette_leaflet
    except ImportError:
        return
    if (Path(datasette_leaflet.__file__).parent / "static" / MINIFIED_LEAFLET).is_file():
        datasette_leaflet.JS_FILE = MINIFIED_LEAFLET


def without_assets(html: str, urls) -> Markup:
    """``html`` without the ``<script src>`` and ``<link href>`` tags that load any of ``urls``."""
    html = str(html)
    for url in urls:
        quoted = re.escape(str(escape(url)))
        html = re.sub(rf'<script src="{quoted}"[^>]*></script>\s*|<link href="{quoted}"[^>]*>\s*', "", html)
    return Markup(html)


@hookimpl
def prepare_jinja2_environment(env, datasette):
    use_minified_leaflet()
    env.globals["asset_url"] = lambda name: asset_url(datasette, name)
    env.filters["without_assets"] = without_assets


@hookimpl
def extra_css_urls(datasette):
    return [asset_url(datasette, name) for name in STYLESHEETS]

