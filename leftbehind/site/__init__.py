"""The site: the Datasette plugins that make ``leftbehind.db`` a website, and keep it safe.

A request meets these layers from the outside in:

============================  ==========================================================
``guard``                     limits, host and origin, methods, hidden pages, security
                              headers (the outermost ASGI layer)
``cache``                     whole-page cache and compression of text answers
``page_language``             ``<html lang="en-GB">`` on every rendered page
``sql_lane``                  visitors' own SQL on a lane of its own; SQLite's limits,
                              authorizer and time limit on every connection
``client_errors``             bad requests answered 4xx, not 500
``once``                      what is read once per instance, kept while its databases
                              are immutable
``retry``                     an ordinary page's query the time limit interrupted is
                              tried once more (a patch of Datasette's ``execute``)
``permissions``               Datasette's permission checks, without a query and a deep
                              copy of the metadata for each
``schema``                    an immutable database's schema read once, not on every page
``plain_templates``           Datasette's templates rendered without Jinja's async mode
============================  ==========================================================

Then Datasette renders the page, with what these give its templates:

============================  ==========================================================
``pages``                     the people's pages: wards, councils, regions, Find my ward,
                              and the archive's sessions
``site_facts``                the build and the sources, for the footer and About
``cells``                     table cells people can read
``lean_table``                a table's rows written by Python, not Jinja (the same bytes)
``exports``                   CSV links that export every row; what each export holds
``accessible_markup``         names and structure for Datasette's own controls
``page_meta``                 meta description and Open Graph tags
``assets``                    versioned URLs of the site's static files
``feeds``                     Atom feeds of queries
``dataset_description``       schema.org JSON-LD and a Frictionless data package
``sitemap``                   ``/sitemap.xml`` and its line in ``robots.txt``
============================  ==========================================================

The modules are registered with Datasette's plugin manager by ``register()``, which the
server (``leftbehind.server``), the container and the tests call before they build the
Datasette instance. They are deliberately not ``datasette`` entry points: an entry point
would load the site's guard and pages into every Datasette run in the same environment,
including the stock ``datasette serve`` that ``bench/serving.py`` measures the site against.
"""

from __future__ import annotations

import importlib

from datasette.plugins import pm

# Every module of the site that implements Datasette hooks, in the order they are registered.
# Order between hooks is set where it matters by tryfirst/trylast on the hooks themselves.
PLUGIN_MODULES = (
    "leftbehind.site.guard",
    "leftbehind.site.client_errors",
    "leftbehind.site.cache",
    "leftbehind.site.page_language",
    "leftbehind.site.sql_lane",
    "leftbehind.site.sqlite_limits",
    "leftbehind.site.permissions",
    "leftbehind.site.schema",
    "leftbehind.site.plain_templates",
    "leftbehind.site.pages.hooks",
    "leftbehind.site.pages.archive",
    "leftbehind.site.site_facts",
    "leftbehind.site.cells",
    "leftbehind.site.lean_table",
    "leftbehind.site.exports",
    "leftbehind.site.accessible_markup",
    "leftbehind.site.page_meta",
    "leftbehind.site.assets",
    "leftbehind.site.feeds",
    "leftbehind.site.dataset_description",
    "leftbehind.site.sitemap",
)


def register() -> None:
    """Register the site's plugins with Datasette (once per process; again is harmless)."""
    from leftbehind.site.lean_table import use_lean_cells
    from leftbehind.site.retry import use_retry_on_interrupt

    use_retry_on_interrupt()
    use_lean_cells()
    for name in PLUGIN_MODULES:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name)


def unregister() -> None:
    """Take the site's plugins out again: for a test of Datasette without them."""
    for name in PLUGIN_MODULES:
        module = importlib.import_module(name)
        if pm.is_registered(module):
            pm.unregister(module)
