"""The people's pages' Datasette hooks: what the row and table templates and Find my ward get.

The row templates (``templates/row-leftbehind-wards.html``, ``-local_authorities``,
``-regions`` and ``-local_authorities_2024``) call ``ward_page(code)``,
``council_page(code)`` and so on; ``templates/pages/find-my-ward.html`` gets ``finder``;
``/find-my-ward.json`` gives the suggestions the search box shows while typing.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils.asgi import Response

from leftbehind.site.pages.areas import (
    council_2024_page,
    council_page,
    neighbourhoods_map,
    region_page,
)
from leftbehind.site.pages.find import examples, finder, outline_index, suggestions
from leftbehind.site.pages.reading import DATABASE, facts_of, schema_of
from leftbehind.site.pages.row_view import ROUTE, PeopleRowView
from leftbehind.site.pages.wards import ward_page

ROW_PAGES = {
    "wards": ("ward_page", ward_page),
    "local_authorities": ("council_page", council_page),
    "local_authorities_2024": ("council_2024_page", council_2024_page),
    "regions": ("region_page", region_page),
}


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if DATABASE not in datasette.databases:
        return {}
    if view_name == "row" and database == DATABASE and table in ROW_PAGES:
        name, build = ROW_PAGES[table]

        async def page(code: str):
            return await build(datasette, code)

        return {name: page}
    if view_name == "table" and database == DATABASE and table in ("left_behind_neighbourhoods", "wards"):

        async def legend():
            return await neighbourhoods_map(datasette)

        return {"neighbourhoods_map": legend}
    if template == "pages/find-my-ward.html" and request is not None:

        async def inner():
            return {"finder": await finder(datasette, request)}

        return inner
    return {}


async def suggestions_view(datasette, request):
    return Response.json(await suggestions(datasette, request.args.get("q")))


async def read_once(datasette) -> None:
    """What the pages read once per instance, read at start-up rather than by a first visitor."""
    schema = await schema_of(datasette)
    await facts_of(datasette)
    await examples(datasette)
    await neighbourhoods_map(datasette)
    if schema.outlines:
        await outline_index(datasette)


@hookimpl
def startup(datasette):
    async def inner():
        if DATABASE in datasette.databases:
            await read_once(datasette)

    return inner


@hookimpl
def register_routes(datasette):
    return [(r"^/find-my-ward\.json$", suggestions_view), (ROUTE, PeopleRowView.as_view(datasette))]
