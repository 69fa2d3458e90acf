"""The dataset described for machines: schema.org JSON-LD, and a Frictionless data package.

- ``dataset_jsonld``: a schema.org ``Dataset`` (what Google Dataset Search reads)
  for the home page and About, written into their ``<head>`` by
  ``templates/_lb_discovery.html``;
- ``/leftbehind/datapackage.json``: a Frictionless (Tabular) Data Package that
  describes every table and view one can download as CSV: its fields, their types
  and descriptions, primary and foreign keys, licence and source.

Both are built when asked, from what is served: the database's own schema
(``PRAGMA table_info`` and ``foreign_key_list``, through Datasette), its
``sources`` and ``build_info`` tables, and metadata.yml (titles, descriptions,
licences of each table, and the few facts about the whole that are in no table,
under ``plugins: leftbehind-dataset``). Nothing here is typed twice, so the
descriptions stay true after a rebuild; the published copy carries only the
plugins, templates, metadata and database, and this needs nothing more.

Every URL is absolute, built with ``datasette.absolute_url`` from the request that
leftbehind/site/guard.py has rewritten to the site's configured public origin.
"""

from __future__ import annotations

import html
import json
import re

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from leftbehind.site.site_facts import site_facts

DATABASE = "leftbehind"
CONFIG = "leftbehind-dataset"
PACKAGE_PATH = f"/{DATABASE}/datapackage.json"
# Where About says which licence covers which part (templates/pages/about.html).
LICENCES_PATH = "/about#licences"
# Pages that carry the JSON-LD: the home page and About.
JSONLD_TEMPLATES = ("index.html", "pages/about.html")
SQLITE_MEDIA_TYPE = "application/vnd.sqlite3"
PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
# JSON inside <script>: these characters could end the element or start a comment.
SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def plain_text(html_text: str) -> str:
    """The paragraphs of a piece of the site's own HTML, as one line of plain text."""
    paragraphs = PARAGRAPH.findall(html_text) or [html_text]
    text = " ".join(html.unescape(TAG.sub("", paragraph)) for paragraph in paragraphs)
    return " ".join(text.split())


def site_description(datasette) -> str:
    return plain_text(datasette.metadata("description_html") or datasette.metadata("description") or "")


def config(datasette) -> dict:
    return datasette.plugin_config(CONFIG) or {}


def field_type(declared: str) -> str:
    """The Table Schema type of a column, by SQLite's rules for a declared type's affinity."""
    declared = (declared or "").upper()
    if "INT" in declared:
        return "integer"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "string"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "number"
    return "any"  # no declared type (a view's computed column) or BLOB


async def downloadable_tables(datasette) -> list[str]:
    """Tables and views with a CSV export: all that Datasette does not hide (the FTS index tables)."""
    db = datasette.get_database(DATABASE)
    hidden = set(await db.hidden_table_names())
    return [name for name in [*(await db.table_names()), *(await db.view_names())] if name not in hidden]


def csv_path(datasette, table: str) -> str:
    """The CSV of every row of ``table``, streamed."""
    return datasette.urls.table(DATABASE, table, format="csv") + "?_stream=on"


async def table_schema(datasette, table: str, tables: set[str]) -> dict:
    """The Table Schema of ``table``: fields, primary key and foreign keys (to tables in ``tables``)."""
    db = datasette.get_database(DATABASE)
    columns = (await db.execute(f"pragma table_info([{table}])")).rows
    described = (datasette.metadata(database=DATABASE, table=table, fallback=False) or {}).get("columns", {})
    fields = []
    for column in columns:
        field = {"name": column["name"], "type": field_type(column["type"])}
        if described.get(column["name"]):
            field["description"] = " ".join(str(described[column["name"]]).split())
        fields.append(field)
    schema: dict = {"fields": fields}
    primary_key = [column["name"] for column in sorted(columns, key=lambda c: c["pk"]) if column["pk"]]
    if primary_key:
        schema["primaryKey"] = primary_key
    foreign_keys: dict[int, dict] = {}
    for key in (await db.execute(f"pragma foreign_key_list([{table}])")).rows:
        if key["table"] not in tables:
            continue
        entry = foreign_keys.setdefault(key["id"], {"fields": [], "reference": {
            "resource": "" if key["table"] == table else key["table"], "fields": []}})
        entry["fields"].append(key["from"])
        entry["reference"]["fields"].append(key["to"])
    if foreign_keys:
        schema["foreignKeys"] = [foreign_keys[number] for number in sorted(foreign_keys)]
    return schema


def licence(name: str | None, url: str | None) -> dict | None:
    """A Data Package licence: at least a path (URL) or a title."""
    entry = {}
    if url:
        entry["path"] = url
    if name:
        entry["title"] = " ".join(name.split())
    return entry or None


async def sources(datasette) -> list[dict]:
    """The ``sources`` rows, by id (read once, by leftbehind/site/site_facts.py)."""
    return (await site_facts(datasette))["data_sources"]


async def build_facts(datasette) -> dict[str, str]:
    """The ``build_info`` items (read once, by leftbehind/site/site_facts.py)."""
    return (await site_facts(datasette))["build"]


def absolute(datasette, request, path: str) -> str:
    """``path`` on the site's public origin (leftbehind/site/guard.py has put it in the request)."""
    return datasette.absolute_url(request, path)


def package_name(title: str) -> str:
    """A Data Package name (lower case letters, digits, -, _ and .) from the site's title."""
    return re.sub(r"[^a-z0-9._]+", "-", title.lower()).strip("-")


async def data_package(datasette, request) -> dict:
    """The Frictionless Tabular Data Package descriptor of the downloadable tables."""
    tables = await downloadable_tables(datasette)
    resources = []
    licences: dict[tuple, dict] = {}
    for table in tables:
        about = datasette.metadata(database=DATABASE, table=table, fallback=False) or {}
        resource = {
            "name": table,
            "title": about.get("title") or table,
            "path": absolute(datasette, request, csv_path(datasette, table)),
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
        }
        if about.get("description"):
            resource["description"] = " ".join(about["description"].split())
        table_licence = licence(about.get("license"), about.get("license_url"))
        if table_licence:
            resource["licenses"] = [table_licence]
            licences.setdefault((table_licence.get("path"), table_licence.get("title")), table_licence)
        if about.get("source") or about.get("source_url"):
            source = {"title": about.get("source") or about.get("source_url")}
            if about.get("source_url"):
                source["path"] = about["source_url"]
            resource["sources"] = [source]
        resource["schema"] = await table_schema(datasette, table, set(tables))
        resources.append(resource)
    title = datasette.metadata("title") or DATABASE
    facts = await build_facts(datasette)
    package = {
        "profile": "tabular-data-package",
        "name": package_name(title),
        "title": title,
        "description": site_description(datasette),
        "homepage": absolute(datasette, request, "/"),
        "licenses": list(licences.values()),
        "sources": [{"title": s["title"], "path": s["url"]} for s in await sources(datasette)],
        "resources": resources,
    }
    if config(datasette).get("creator"):
        package["contributors"] = [{"title": config(datasette)["creator"]["name"], "role": "author"}]
    if facts.get("built_at"):
        package["created"] = facts["built_at"]
    return package


async def dataset_jsonld(datasette, request) -> dict:
    """The schema.org Dataset: the whole, its parts with their licences, and its downloads."""
    settings = config(datasette)
    facts = await build_facts(datasette)
    db = datasette.get_database(DATABASE)
    title = datasette.metadata("title") or DATABASE
    catalogue = settings.get("catalogue", {})
    parts = [{
        "@type": "Dataset",
        "name": catalogue.get("name"),
        "description": " ".join(str(catalogue.get("description", "")).split()),
        "license": datasette.metadata("license_url"),
        "url": absolute(datasette, request, datasette.urls.database(DATABASE)),
    }]
    for source in await sources(datasette):
        part = {
            "@type": "Dataset",
            "name": source["title"],
            "description": f"{source['title']}: a source file of this dataset. {source['attribution']}",
            "url": source["url"],
            "conditionsOfAccess": source["licence"],
            "creditText": source["attribution"],
        }
        if source["licence_url"]:
            part["license"] = source["licence_url"]
        parts.append(part)
    distributions = [{
        "@type": "DataDownload",
        "name": f"The whole database ({db.name}.db, SQLite)",
        "encodingFormat": SQLITE_MEDIA_TYPE,
        "contentUrl": absolute(datasette, request, datasette.urls.database(DATABASE) + ".db"),
        "contentSize": f"{db.size} B",
    }]
    for table in settings.get("csv_downloads", []):
        about = datasette.metadata(database=DATABASE, table=table, fallback=False) or {}
        download = {
            "@type": "DataDownload",
            "name": f"{table} (CSV, every row)",
            "encodingFormat": "text/csv",
            "contentUrl": absolute(datasette, request, csv_path(datasette, table)),
        }
        if about.get("description"):
            download["description"] = " ".join(about["description"].split())
        if about.get("license_url"):
            download["license"] = about["license_url"]
        if about.get("license"):
            download["conditionsOfAccess"] = " ".join(about["license"].split())
        distributions.append(download)
    dataset = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": title,
        "description": site_description(datasette),
        "url": absolute(datasette, request, "/"),
        "isAccessibleForFree": True,
        "conditionsOfAccess": datasette.metadata("license"),
        # One licence does not cover the whole (the CNI has none stated): the whole's licence is
        # the page that says which covers each part, named by what it says; each part's is below.
        "license": {
            "@type": "CreativeWork",
            "name": datasette.metadata("license"),
            "url": absolute(datasette, request, LICENCES_PATH),
        },
        "keywords": list(settings.get("keywords", [])),
        "creator": {"@type": "Organization", "url": absolute(datasette, request, "/"), **settings.get("creator", {})},
        "temporalCoverage": settings.get("temporal_coverage"),
        "spatialCoverage": {"@type": "Place", "name": settings.get("spatial_coverage")},
        "hasPart": parts,
        "distribution": distributions,
        "subjectOf": {
            "@type": "DigitalDocument",
            "name": "Frictionless data package: every table's fields, types, keys, licence and source",
            "encodingFormat": "application/json",
            "url": absolute(datasette, request, PACKAGE_PATH),
        },
    }
    if facts.get("built_at"):
        dataset["dateModified"] = facts["built_at"]
    return dataset


def script_json(value: dict) -> Markup:
    """``value`` as JSON that is safe between ``<script>`` tags."""
    text = json.dumps(value, ensure_ascii=False)
    for character, escaped in SCRIPT_UNSAFE.items():
        text = text.replace(character, escaped)
    return Markup(text)


async def package_view(datasette, request):
    headers = {"access-control-allow-origin": "*"} if datasette.cors else {}
    return Response.json(await data_package(datasette, request), headers=headers)


@hookimpl
def register_routes():
    # Plugin routes come before Datasette's own, so this is not read as a table named datapackage.
    return [(rf"^{re.escape(PACKAGE_PATH)}$", package_view)]


@hookimpl
def extra_template_vars(template, request, datasette):
    if template not in JSONLD_TEMPLATES or request is None or DATABASE not in datasette.databases:
        return {}

    async def inner():
        return {"dataset_jsonld": script_json(await dataset_jsonld(datasette, request))}

    return inner
