"""``/sitemap.xml``: the pages for people, for search engines; and its line in ``robots.txt``.

Lists, with absolute URLs on the site's public origin:

- the home page, About, Find my ward (without a query), the APPG archive and the dashboard;
- the database page, and the first page of every table and view that is not
  hidden (the full-text index tables are), and of every canned query that asks
  for no parameter;
- the page of every row of the kinds people look up (``ROW_PAGES``): wards,
  councils (2017 and today's), regions, publications and sessions.

Every URL here is one ``robots.txt`` lets crawlers read. URLs are built with
``datasette.absolute_url``, from the request that leftbehind/site/guard.py has
already rewritten to the configured origin: never from the ``Host`` a client
sent. The database is immutable while served, so the list of paths is made
once per Datasette instance, at start-up. ``robots.txt`` (datasette-block-robots, its rules in
metadata.yml) gets the ``Sitemap:`` line through that plugin's
``block_robots_extra_lines`` hook, and before it a Disallow line for each prefix of
an export or query string of every table, view and canned query (``literal_robot_lines``):
metadata.yml's wildcard rules (``/*?``, ``/*.json``) are Google's and Bing's, and crawlers
that read robots.txt as the 1994 rules did (prefixes only) would read them as paths nobody
asks for. What no prefix can name is left to the wildcards: a row page's own ``.json``
(one row, and finite).
"""

from __future__ import annotations

from urllib.parse import quote
from xml.sax.saxutils import escape

from datasette import hookimpl
from datasette.utils import derive_named_parameters, path_from_row_pks
from datasette.utils.asgi import Response

from leftbehind.site.dataset_description import PACKAGE_PATH
from leftbehind.site.once import once
from leftbehind.site.retry import read_rows
from leftbehind.site.site_facts import site_facts

DATABASE = "leftbehind"
SITEMAP_PATH = "/sitemap.xml"
SITEMAPS_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000  # one sitemap file may list at most this many (sitemaps.org)
# Pages outside any database: home, About (templates/pages/about.html), Find my ward, the APPG archive
# (templates/pages/archive.html), the dashboard.
SITE_PAGES = ("/", "/about", "/find-my-ward", "/archive", "/-/dashboards/left-behind")
# Tables whose every row has a page for people.
ROW_PAGES = ("wards", "local_authorities", "local_authorities_2024", "regions", "publications", "sessions")


async def sitemap_paths(datasette) -> list[str]:
    """Every path the sitemap lists, site pages first, then tables, queries and rows."""
    db = datasette.get_database(DATABASE)
    paths = list(SITE_PAGES)
    paths.append(datasette.urls.database(DATABASE))
    hidden = set(await db.hidden_table_names())
    for table in [*(await db.table_names()), *(await db.view_names())]:
        if table not in hidden:
            paths.append(datasette.urls.table(DATABASE, table))
    for name, query in (await datasette.get_canned_queries(DATABASE, None)).items():
        if not await derive_named_parameters(db, query["sql"]):
            paths.append(datasette.urls.query(DATABASE, name))
    for table in ROW_PAGES:
        if not await db.table_exists(table):
            continue
        pks = await db.primary_keys(table)
        columns = ", ".join(f"[{pk}]" for pk in pks) if pks else "rowid"
        for row in (await db.execute(f"select {columns} from [{table}] order by {columns}")).rows:
            paths.append(datasette.urls.row(DATABASE, table, path_from_row_pks(row, pks, not pks)))
    return paths


async def built_on(datasette) -> str | None:
    """The day the database was built (``build_info``), as the sitemap's lastmod."""
    built_at = (await site_facts(datasette))["build"].get("built_at")
    return built_at[:10] if built_at else None


def sitemap_xml(urls: list[str], lastmod: str | None) -> str:
    modified = f"<lastmod>{escape(lastmod)}</lastmod>" if lastmod else ""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAPS_NS}">']
    lines += [f"<url><loc>{escape(url)}</loc>{modified}</url>" for url in urls]
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


async def known_sitemap(datasette) -> tuple[list[str], str | None]:
    """The sitemap's paths and its lastmod, made once per instance when its databases are immutable."""

    async def compute() -> tuple[list[str], str | None]:
        paths = await sitemap_paths(datasette)
        if len(paths) > MAX_URLS:
            raise ValueError(f"the sitemap would list {len(paths):,} URLs; one file may list {MAX_URLS:,}")
        return paths, await built_on(datasette)

    return await once(datasette, "sitemap", compute)


async def sitemap_view(datasette, request):
    paths, lastmod = await known_sitemap(datasette)
    origin = datasette.absolute_url(request, "/").rstrip("/")  # every path starts with / (and base_url)
    return Response(sitemap_xml([origin + path for path in paths], lastmod),
                    content_type="application/xml; charset=utf-8")


@hookimpl
def register_routes():
    return [(r"^/sitemap\.xml$", sitemap_view)]


async def literal_robot_lines(datasette) -> list[str]:
    """Disallow lines that need no wildcard: every table's, view's and canned query's exports
    and query strings (Datasette's own parameters start with _, filters with a column's name,
    a query's with its parameter's), each by its prefix."""
    db = datasette.get_database(DATABASE)
    base = datasette.urls.database(DATABASE)
    prefixes = [f"{base}.json", f"{base}?_", PACKAGE_PATH]
    tables = await read_rows(db, "select name from sqlite_master where type in ('table', 'view') order by name")
    for table in (row["name"] for row in tables):
        path = datasette.urls.table(DATABASE, table)
        columns = await read_rows(db, "select name from pragma_table_info(?)", (table,))
        prefixes += [f"{path}.json", f"{path}.csv", f"{path}?_", *(f"{path}?{quote(row['name'])}" for row in columns)]
    for name, query in (await datasette.get_canned_queries(DATABASE, None)).items():
        path = datasette.urls.query(DATABASE, name)
        parameters = await derive_named_parameters(db, query["sql"])
        prefixes += [f"{path}.json", f"{path}.csv", f"{path}.atom", f"{path}?_", *(f"{path}?{p}" for p in parameters)]
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):  # a prefix another one already covers adds nothing
        if not kept or not prefix.startswith(kept[-1]):
            kept.append(prefix)
    return [f"Disallow: {prefix}" for prefix in kept]


async def known_robot_lines(datasette) -> list[str]:
    return await once(datasette, "robot_lines", lambda: literal_robot_lines(datasette))


@hookimpl
def startup(datasette):
    """Make the sitemap and the robots.txt lines before the first crawler comes."""
    if DATABASE not in datasette.databases:
        return None

    async def inner():
        await known_robot_lines(datasette)
        await known_sitemap(datasette)

    return inner


@hookimpl
def block_robots_extra_lines(datasette, request):
    async def inner():
        lines = await known_robot_lines(datasette) if DATABASE in datasette.databases else []
        return [*lines, f"Sitemap: {datasette.absolute_url(request, SITEMAP_PATH)}"]

    return inner
