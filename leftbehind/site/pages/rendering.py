"""The people's row pages (a ward, a council, a region) served by a leaner row view: the same HTML.

Datasette's row view does work these pages never show and renders with Jinja's async mode:

- it lays out every column of the row for its own table of the record, and counts the rows of
  every table that points at it ("Links from other tables"), a query per page; the people's
  templates replace that part of the page whenever they have the page's data;
- its templates run in Jinja's async mode, where every piece of output is awaited: about
  twice the time of the same templates rendered plainly.

``PeopleRowView`` is Datasette's ``RowView`` with two changes, for the tables in ``ROW_PAGES``:

- ``data``: the page's own data (``ward_page`` and so on) is read first; when there is a page,
  the record table and the counts are not computed (empty), and the page goes to the template
  with the rest of Datasette's context. Without a page (no such page for that row, another
  table) everything is Datasette's;
- ``render``: the same templates, rendered by a plain (not async) Jinja environment that
  shares Datasette's loader, filters and extensions, with the same context Datasette's
  ``render_template`` builds: every plugin hook is called as Datasette calls it and awaited
  first, and the page's function is given its data. If a plugin hands the template any other
  async function, the page is rendered by Datasette's own ``render_template`` instead.

Everything else (permissions, the row's query, 404s, JSON and CSV, headers) is ``RowView``'s.
tests/test_rendering.py compares every ward, council and region page with Datasette's own
rendering, byte for byte.
"""

from __future__ import annotations

import inspect
from typing import Any

from datasette.plugins import pm
from datasette.utils import await_me_maybe, display_actor, format_bytes, path_with_format
from datasette.utils.asgi import Response
from datasette.views.row import RowView
from markupsafe import Markup

from leftbehind.site.pages.areas import council_2024_page, council_page, region_page
from leftbehind.site.pages.reading import DATABASE
from leftbehind.site.pages.wards import ward_page

# table -> (the template's name for the page's function, the function)
ROW_PAGES = {
    "wards": ("ward_page", ward_page),
    "local_authorities": ("council_page", council_page),
    "local_authorities_2024": ("council_2024_page", council_2024_page),
    "regions": ("region_page", region_page),
}
# Datasette's own row route, for these tables of the site's database only (plugin routes come first).
ROUTE = rf"^/(?P<database>{DATABASE})/(?P<table>{'|'.join(ROW_PAGES)})/(?P<pks>[^/]+?)(\.(?P<format>\w+))?$"
PAGE_KEY = "_leftbehind_people_page"


class PeopleRowView(RowView):
    """``RowView`` for the people's pages: their data first, and their templates rendered plainly."""

    async def data(self, request, default_labels=False):
        data, template_data, templates = await super().data(request, default_labels)
        name, build = ROW_PAGES[data["table"]]
        values = data["primary_key_values"]

        async def people_template_data():
            page = await build(self.ds, values[0]) if len(values) == 1 else None
            if page is None:
                return await template_data()
            _, private = await self.ds.check_visibility(
                request.actor,
                permissions=[("view-table", (data["database"], data["table"])), ("view-database", data["database"]),
                             "view-instance"],
            )
            return {
                "private": private,
                "foreign_key_tables": [],
                "display_columns": [],
                "display_rows": [],
                "custom_table_templates": [
                    f"_table-{DATABASE}-{data['table']}.html", f"_table-row-{DATABASE}-{data['table']}.html", "_table.html",
                ],
                "metadata": (self.ds.metadata("databases") or {}).get(data["database"], {}).get("tables", {}).get(
                    data["table"], {}
                ),
                PAGE_KEY: (name, values[0], page),
            }

        return data, people_template_data, templates

    async def render(self, templates, request, context=None):
        context = dict(context or {})
        page = context.pop(PAGE_KEY, None)
        if page is None:
            return await super().render(templates, request, context=context)
        # As DataView.render does, then Datasette.render_template with a plain environment.
        environment = plain_environment(self.ds)
        template = environment.select_template(templates)
        alternate_url_json = self.ds.absolute_url(
            request, self.ds.urls.path(path_with_format(request=request, format="json"))
        )
        template_context = {
            **context,
            "database_color": self.database_color,
            "select_templates": [f"{'*' if name == template.name else ''}{name}" for name in templates],
            "alternate_url_json": alternate_url_json,
        }
        headers = {"Link": f'{alternate_url_json}; rel="alternate"; type="application/json+datasette"'}
        html = await render_plainly(self.ds, template, template_context, request, self.name, page)
        if html is None:  # a plugin gave the template an async function: Datasette renders it
            html = await self.ds.render_template(
                self.ds.jinja_env.select_template(templates), template_context, request=request, view_name=self.name
            )
        return Response.html(html, headers=headers)


def plain_environment(datasette):
    """Datasette's Jinja environment, not async: the same loader, filters, tests and extensions."""
    environment = getattr(datasette, "_leftbehind_plain_jinja", None)
    if environment is None:
        environment = datasette.jinja_env.overlay(enable_async=False)
        datasette._leftbehind_plain_jinja = environment
    return environment


async def render_plainly(datasette, template, context: dict, request, view_name: str, page) -> str | None:
    """``Datasette.render_template`` (0.65), with the template rendered plainly; None if it cannot be."""
    body_scripts = []
    for extra_script in pm.hook.extra_body_script(
        template=template.name, database=context.get("database"), table=context.get("table"),
        columns=context.get("columns"), view_name=view_name, request=request, datasette=datasette,
    ):
        extra_script = await await_me_maybe(extra_script)
        if isinstance(extra_script, dict):
            script, module = extra_script["script"], bool(extra_script.get("module"))
        else:
            script, module = extra_script, False
        body_scripts.append({"script": Markup(script), "module": module})
    extra_template_vars: dict[str, Any] = {}
    for extra_vars in pm.hook.extra_template_vars(
        template=template.name, database=context.get("database"), table=context.get("table"),
        columns=context.get("columns"), view_name=view_name, request=request, datasette=datasette,
    ):
        extra_vars = await await_me_maybe(extra_vars)
        assert isinstance(extra_vars, dict), f"extra_vars is of type {type(extra_vars)}"
        extra_template_vars.update(extra_vars)
    name, code, data = page
    extra_template_vars[name] = lambda asked: data if asked == code else None
    if any(inspect.iscoroutinefunction(value) for value in extra_template_vars.values()):
        return None
    links = []
    for hook in pm.hook.menu_links(datasette=datasette, actor=request.actor, request=request):
        extra_links = await await_me_maybe(hook)
        if extra_links:
            links.extend(extra_links)
    crumbs = {}
    for database, table in ((None, None), (context.get("database"), None), (context.get("database"), context.get("table"))):
        crumbs[(database, table)] = await datasette._crumb_items(request, table=table, database=database)
    template_context = {
        **context,
        "request": request,
        "crumb_items": lambda request=None, database=None, table=None: crumbs[(database, table)],
        "urls": datasette.urls,
        "actor": request.actor,
        "menu_links": lambda: links,
        "display_actor": display_actor,
        "show_logout": "ds_actor" in request.cookies and request.actor,
        "app_css_hash": datasette.app_css_hash(),
        "zip": zip,
        "body_scripts": body_scripts,
        "format_bytes": format_bytes,
        "show_messages": lambda: datasette._show_messages(request),
        "extra_css_urls": await datasette._asset_urls("extra_css_urls", template, context, request, view_name),
        "extra_js_urls": await datasette._asset_urls("extra_js_urls", template, context, request, view_name),
        "base_url": datasette.setting("base_url"),
        "csrftoken": request.scope["csrftoken"],
        **extra_template_vars,
    }
    return template.render(template_context)
