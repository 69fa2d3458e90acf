"""Atom feeds (RFC 4287) of queries, and the links that let feed readers find them.

Any query or table whose columns include ``atom_id``, ``atom_title`` and
``atom_updated`` can be read as a feed by adding ``.atom`` to its address; the
site's own is the canned query ``publications_feed`` (metadata.yml), at
``/leftbehind/publications_feed.atom``. Optional columns: ``atom_link`` (the
entry's page; a path is made absolute on the site's origin), ``atom_content``
(plain text) and ``atom_authors`` (a JSON array of ``{"name": ..., "uri": ...}``).

What RFC 4287 asks of a feed, and where it comes from here:

- the feed's ``id`` is the canned query's ``atom_id`` in metadata.yml, a tag URI
  that stays the same whatever host serves the feed; a feed of any other query
  has its own URL on the configured origin;
- the feed's ``author`` is the dataset's creator (``plugins: leftbehind-dataset``
  in metadata.yml), so every entry has one; entries name their own authors when
  the query gives them;
- ``updated`` is the newest entry's (or, for an empty feed, the database's build
  time);
- every link is absolute, on the configured public origin (leftbehind/site/guard.py
  rewrites each request to it), so no ``xml:base`` is needed; ``rel="self"`` is
  the feed's own address, ``rel="alternate"`` the page it is a feed of;
- served as ``application/atom+xml``.

Datasette's pages whose columns make a feed get an "atom" link among their
export formats. The home page, the publications table and the feed's own page
carry ``<link rel="alternate" type="application/atom+xml">`` for autodiscovery
(``feed_link``, written by ``templates/_lb_discovery.html``).

This replaces datasette-atom, whose feeds took their id and links from the
request's address, named no author and were served as ``application/xml``. Both
cannot serve ``.atom``: the site refuses to start while datasette-atom is still
installed (an old .venv keeps it after ``pip install -e``).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

from datasette import hookimpl
from datasette.utils.asgi import Response

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
REQUIRED_COLUMNS = {"atom_id", "atom_title", "atom_updated"}
DATABASE = "leftbehind"
FEED_QUERY = "publications_feed"  # the feed the site's pages link to
EPOCH = "1970-01-01T00:00:00Z"
LINK_SCHEMES = ("http", "https")
# Characters XML 1.0 cannot hold in any form (control characters, lone surrogates,
# U+FFFE and U+FFFF): dropped from every text and attribute, so a feed made from any
# query's values is well-formed. ElementTree would write them as they are.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MISSING_COLUMNS = (
    "This page cannot be an Atom feed: a feed needs the columns atom_id, atom_title and atom_updated "
    "(and may have atom_link, atom_content and atom_authors)."
)

ElementTree.register_namespace("", ATOM_NS)


def atom(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def xml_text(value: str) -> str:
    return NOT_XML.sub("", value)


def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(
        parent, atom(tag), {k: xml_text(v) for k, v in attributes.items() if v is not None}
    )
    if text is not None:
        element.text = xml_text(text)
    return element


def web_link(base: str, value) -> str | None:
    """``value`` as an absolute http(s) URL (a path is taken relative to ``base``), or None.

    Links come from the query's values: a ``javascript:`` or ``data:`` one is dropped.
    """
    url = urljoin(base, str(value).strip())
    return url if urlsplit(url).scheme in LINK_SCHEMES else None


def add_person(parent: ElementTree.Element, person: dict, base: str) -> None:
    author = add(parent, "author")
    add(author, "name", str(person["name"]))
    uri = web_link(base, person["uri"]) if person.get("uri") else None
    if uri:
        add(author, "uri", uri)


def entry_authors(value) -> list[dict]:
    """The ``atom_authors`` column: a JSON array of objects with a name (and a uri).

    Anything else (not JSON, not an array, nested past Python's recursion limit)
    names no authors.
    """
    if not value:
        return []
    try:
        people = json.loads(value) if isinstance(value, str) else value
    except (ValueError, RecursionError):
        return []
    if not isinstance(people, list):
        return []
    return [person for person in people if isinstance(person, dict) and person.get("name")]


def feed_settings(datasette, database: str, query_name: str | None) -> dict:
    """The canned query's own ``atom_id`` and title, if the feed is a canned query's."""
    if not query_name:
        return {}
    queries = (datasette.metadata(database=database, fallback=False) or {}).get("queries") or {}
    query = queries.get(query_name)
    return query if isinstance(query, dict) else {}


def feed_author(datasette) -> dict:
    creator = (datasette.plugin_config("leftbehind-dataset") or {}).get("creator") or {}
    return {"name": creator.get("name") or datasette.metadata("title") or "Datasette", "uri": creator.get("url")}


async def build_time(datasette, database: str) -> str | None:
    """When the site's database was built (its build_info table); None for another database."""
    if database != DATABASE:
        return None
    row = (await datasette.get_database(database).execute(
        "select value from build_info where item = 'built_at'"
    )).first()
    return row["value"] if row else None


async def render_atom(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    if not can_render_atom(columns):
        return Response.text(MISSING_COLUMNS, status=400)
    settings = feed_settings(datasette, database, query_name)
    query = f"?{request.query_string}" if request.query_string else ""
    self_url = datasette.absolute_url(request, request.path + query)
    page_path = request.path[: -len(".atom")] if request.path.endswith(".atom") else request.path
    page_url = datasette.absolute_url(request, page_path + query)  # the HTML page this is a feed of
    feed = ElementTree.Element(atom("feed"))
    add(feed, "id", settings.get("atom_id") or page_url)
    add(feed, "title", settings.get("title") or (f"{database}: {table}" if table else database))
    if settings.get("description"):
        add(feed, "subtitle", " ".join(str(settings["description"]).split()))
    updated = max((str(row["atom_updated"]) for row in rows if row["atom_updated"]), default=None)
    add(feed, "updated", updated or await build_time(datasette, database) or EPOCH)
    add_person(feed, feed_author(datasette), page_url)
    add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    add(feed, "link", rel="alternate", type="text/html", href=page_url)
    for row in rows:
        entry = add(feed, "entry")
        add(entry, "id", str(row["atom_id"]))
        add(entry, "title", str(row["atom_title"]))
        add(entry, "updated", str(row["atom_updated"]))
        if "atom_authors" in columns:
            for person in entry_authors(row["atom_authors"]):
                add_person(entry, person, page_url)
        link = web_link(page_url, row["atom_link"]) if "atom_link" in columns and row["atom_link"] else None
        if link:
            add(entry, "link", rel="alternate", href=link)
        if "atom_content" in columns and row["atom_content"]:
            add(entry, "content", str(row["atom_content"]), type="text")
    body = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type=CONTENT_TYPE)


def can_render_atom(columns) -> bool:
    return REQUIRED_COLUMNS.issubset(columns)


@hookimpl
def register_output_renderer():
    return {"extension": "atom", "render": render_atom, "can_render": can_render_atom}


@hookimpl
def startup(datasette):
    """Refuse to start if another plugin (datasette-atom, left in an old .venv) renders .atom instead."""
    render = datasette.renderers.get("atom", (None,))[0]
    if render is not render_atom:
        raise RuntimeError(
            "another plugin serves the .atom format in place of leftbehind/site/feeds.py; "
            "datasette-atom is no longer a dependency: pip uninstall datasette-atom"
        )


def feed_pages(datasette) -> set[str]:
    """The pages that link to the feed: the home page, the publications and the feed's own page."""
    return {
        datasette.urls.instance(),
        datasette.urls.table(DATABASE, "publications"),
        datasette.urls.query(DATABASE, FEED_QUERY),
    }


@hookimpl
def extra_template_vars(request, datasette):
    if request is None or DATABASE not in datasette.databases or request.path not in feed_pages(datasette):
        return {}
    title = feed_settings(datasette, DATABASE, FEED_QUERY).get("title") or "Atom feed"
    href = datasette.absolute_url(request, datasette.urls.query(DATABASE, FEED_QUERY, format="atom"))
    return {"feed_link": {"href": href, "title": title}}
