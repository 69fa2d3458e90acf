"""What a search result or a shared link shows of a page: meta description and Open Graph.

Registered by ``leftbehind.site.register()``. ``templates/_meta_tags.html``
(included once, by ``templates/base.html``) writes the tags; this plugin gives it

- ``page_url``: the page's absolute address for ``og:url``, built from the site's
  configured public origin (the ``origin`` setting of leftbehind/site/guard.py:
  ``--plugin-secret leftbehind origin URL`` or ``LEFTBEHIND_ORIGIN``), never from the
  Host a request sent. With no origin configured (a local ``make serve``) it is the
  address the server answers on, which public_site.py has by then put in the request
  in place of whatever Host the client sent;
- ``site_name`` and ``site_description``: the instance's title and the first words of
  its description, for ``og:site_name`` and for pages that say nothing of their own;
- the filter ``meta_summary``: any text or HTML as one line of plain text of at most
  ``SUMMARY_CHARS`` characters, whole sentences where they fit, else cut at a word.
"""

from __future__ import annotations

import functools
import html
import os
import re
from urllib.parse import urlsplit

from datasette import hookimpl

SUMMARY_CHARS = 200  # search results show about 160; a longer whole sentence reads better than a cut one
TAG = re.compile(r"<[^>]+>")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'‘“(])")


def plain_text(text: str) -> str:
    """Text or HTML as plain text on one line."""
    return " ".join(html.unescape(TAG.sub(" ", str(text or ""))).split())


def meta_summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters, or its first words and '…'
    (also when the sentences that fit say too little: "No." before a long second sentence)."""
    if type(text) is str:  # the site's description on every page, a page's own on each of its visits
        return _summary_of_text(text, limit)
    return _summary(text, limit)


@functools.lru_cache(maxsize=256)
def _summary_of_text(text: str, limit: int) -> str:
    return _summary(text, limit)


def _summary(text: str, limit: int) -> str:
    text = plain_text(text)
    if len(text) <= limit:
        return text
    summary = ""
    for sentence in SENTENCE_END.split(text):
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > limit:
            break
        summary = candidate
    if len(summary) >= limit // 4:
        return summary
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


def configured_origin(datasette) -> str | None:
    """The site's public origin as configured (scheme and host, lower case), or None.

    The same setting leftbehind/site/guard.py reads; it refuses to start on a malformed one.
    """
    value = (datasette.plugin_config("leftbehind") or {}).get("origin") or os.environ.get("LEFTBEHIND_ORIGIN")
    if not value:
        return None
    parts = urlsplit(value.strip())
    return f"{parts.scheme}://{parts.netloc.lower()}"


def page_url(datasette, request) -> str:
    """The absolute URL of the page ``request`` asked for, on the public origin."""
    origin = configured_origin(datasette) or f"{request.scheme}://{request.host}"
    query = request.query_string
    return origin + request.path + (f"?{query}" if query else "")


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["meta_summary"] = meta_summary


@hookimpl
def extra_template_vars(request, datasette):
    variables = {
        "site_name": datasette.metadata("title") or "Datasette",
        "site_description": meta_summary(datasette.metadata("description_html") or datasette.metadata("description") or ""),
    }
    if request is not None:
        variables["page_url"] = page_url(datasette, request)
    return variables
