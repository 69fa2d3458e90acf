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

import functools
import inspect
import json
import re
from urllib.parse import urljoin, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Response

from leftbehind.site.site_facts import site_facts

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
REQUIRED_COLUMNS = {"atom_id", "atom_title", "atom_updated"}
DATABASE = "leftbehind"
FEED_QUERY = "publications_feed"  # the feed the site's pages link to
EPOCH = "1970-01-01T00:00:00Z"
LINK_SCHEMES = ("http", "https")
# Characters XML 1.0 cannot hold in any form (control characters, lone surrogates,
# U+FFFE and U+FFFF): dropped from every text and attribute, so a feed made from any
# query's values is well-formed (written as they are, they would make it ill-formed).
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MISSING_COLUMNS = (
    "This page cannot be an Atom feed: a feed needs the columns atom_id, atom_title and atom_updated "
    "(and may have atom_link, atom_content and atom_authors)."
)
XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"  # as ElementTree.tostring writes it


def xml_text(value: str) -> str:
    if value.isascii() and value.isprintable():  # (most values: nothing to drop, no regex needed)
        return value
    return NOT_XML.sub("", value)


def element(tag: str, text: str | None = None, **attributes: str | None) -> str:
    """One Atom element as XML, written as ElementTree writes it (an empty text: a short empty element).

    The feed is written as text, not built as an ElementTree and serialized: ElementTree's writer
    took most of the feed's time. tests/test_findable.py checks that what is written is exactly
    what ElementTree writes for the same elements.
    """
    if not attributes:
        return text_element(tag, text)
    written = "".join(
        f' {name}="{escape_attribute(xml_text(value))}"' for name, value in attributes.items() if value is not None
    )
    text = xml_text(text) if text is not None else None
    if text:
        return f"<{tag}{written}>{escape_text(text)}</{tag}>"
    return f"<{tag}{written} />"


def escaped_text(text: str) -> str:
    """The character data of an element as written: XML's impossible characters dropped, then escaped."""
    return escape_text(xml_text(text))


def text_element(tag: str, text: str | None) -> str:
    """``element(tag, text)``, an element without attributes: most of a feed's."""
    written = escaped_text(text) if text is not None else ""
    return f"<{tag}>{written}</{tag}>" if written else f"<{tag} />"


def parent(tag: str, children: list[str], namespace: str = "") -> str:
    opening = f'<{tag} xmlns="{escape_attribute(namespace)}">' if namespace else f"<{tag}>"
    return opening + "".join(children) + f"</{tag}>" if children else opening[:-1] + " />"


def escape_text(text: str) -> str:
    """ElementTree's escaping of character data."""
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


ATTRIBUTE_ESCAPED = re.compile('[&<>"\r\n\t]')


def escape_attribute(text: str) -> str:
    """ElementTree's escaping of attribute values."""
    if ATTRIBUTE_ESCAPED.search(text) is None:
        return text
    return (escape_text(text).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#09;"))


def web_link(base: str, value) -> str | None:
    """``value`` as an absolute http(s) URL (a path is taken relative to ``base``), or None.

    Links come from the query's values: a ``javascript:`` or ``data:`` one is dropped.
    """
    return absolute_web_link(base, str(value).strip())


@functools.lru_cache(maxsize=4096)
def absolute_web_link(base: str, link: str) -> str | None:
    """(Kept: a feed has the same base and a few hundred links on every request.)"""
    url = urljoin(base, link)
    return url if urlsplit(url).scheme in LINK_SCHEMES else None


def person(who: dict, base: str) -> str:
    children = [text_element("name", str(who["name"]))]
    uri = web_link(base, who["uri"]) if who.get("uri") else None
    if uri:
        children.append(text_element("uri", uri))
    return parent("author", children)


# An ``atom_authors`` value up to this long has its <author> elements kept, once written
# (keyed by the value and the feed's address; a feed repeats its few organisations on every
# request). Longer values, which a visitor's query could make as large as SQLite allows, are
# written each time, so what is kept stays small.
KEPT_AUTHORS_CHARS = 2_000


@functools.lru_cache(maxsize=1024)
def kept_authors(value: str, base: str) -> str:
    return "".join(person(who, base) for who in entry_authors(value))


def authors_xml(value, base: str) -> str:
    """The <author> elements of an entry's ``atom_authors`` value."""
    if isinstance(value, str) and len(value) <= KEPT_AUTHORS_CHARS:
        return kept_authors(value, base)
    return "".join(person(who, base) for who in entry_authors(value))


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
    return (await site_facts(datasette))["build"].get("built_at")


async def render_atom(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    if not can_render_atom(columns):
        return Response.text(MISSING_COLUMNS, status=400)
    settings = feed_settings(datasette, database, query_name)
    query = f"?{request.query_string}" if request.query_string else ""
    self_url = datasette.absolute_url(request, request.path + query)
    page_path = request.path[: -len(".atom")] if request.path.endswith(".atom") else request.path
    page_url = datasette.absolute_url(request, page_path + query)  # the HTML page this is a feed of
    children = [
        element("id", settings.get("atom_id") or page_url),
        element("title", settings.get("title") or (f"{database}: {table}" if table else database)),
    ]
    if settings.get("description"):
        children.append(element("subtitle", " ".join(str(settings["description"]).split())))
    updated = max((str(row["atom_updated"]) for row in rows if row["atom_updated"]), default=None)
    children.append(element("updated", updated or await build_time(datasette, database) or EPOCH))
    children.append(person(feed_author(datasette), page_url))
    children.append(element("link", rel="self", type="application/atom+xml", href=self_url))
    children.append(element("link", rel="alternate", type="text/html", href=page_url))
    authors, links, contents = ("atom_authors" in columns), ("atom_link" in columns), ("atom_content" in columns)
    for row in rows:  # each entry as element() and parent() would write it, written directly
        entry_id, title, entry_updated = (escaped_text(str(row["atom_id"])), escaped_text(str(row["atom_title"])),
                                          escaped_text(str(row["atom_updated"])))
        entry = ((f"<entry><id>{entry_id}</id>" if entry_id else "<entry><id />")
                 + (f"<title>{title}</title>" if title else "<title />")
                 + (f"<updated>{entry_updated}</updated>" if entry_updated else "<updated />"))
        if authors:
            entry += authors_xml(row["atom_authors"], page_url)
        link = web_link(page_url, row["atom_link"]) if links and row["atom_link"] else None
        if link:
            entry += f'<link rel="alternate" href="{escape_attribute(xml_text(link))}" />'
        if contents and row["atom_content"]:
            text = escaped_text(str(row["atom_content"]))
            entry += f'<content type="text">{text}</content>' if text else '<content type="text" />'
        children.append(entry + "</entry>")
    body = XML_DECLARATION + parent("feed", children, namespace=ATOM_NS)
    return Response(body.encode("utf-8"), content_type=CONTENT_TYPE)


# Datasette reads the renderer's signature on every request (to pass only the arguments it takes):
# given here, inspect.signature returns it at once.
render_atom.__signature__ = inspect.signature(render_atom)


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
