"""The markup every page carries (issue 15), through Datasette's own test client and the real build.

- leftbehind/site/accessible_markup.py names Datasette's own controls: every rule is checked on
  the pages Datasette renders, so a Datasette upgrade that changes its markup fails here;
- leftbehind/site/page_meta.py and templates/_meta_tags.html: a meta description and the Open
  Graph tags on every page type, og:url from the configured public origin whatever Host
  the request named;
- without the site's plugins (Datasette's defaults) the templates still serve their pages.
"""

from __future__ import annotations

import html
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from datasette.app import Datasette

from conftest import profile_datasette
from support.live import default_server
from support.pages import page_types

META_TAGS = ("description", "og:title", "og:description", "og:type", "og:url", "og:site_name")


class Head(HTMLParser):
    """The <meta> tags of a page's head and the attributes of its form controls."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.controls: list[dict[str, str | None]] = []
        self.in_head = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and self.in_head:
            name = attributes.get("name") or attributes.get("property")
            if name:
                self.meta.setdefault(name, []).append(attributes.get("content") or "")
        if tag in ("select", "textarea") or (tag == "input" and attributes.get("type") in ("text", "search")):
            self.controls.append({"tag": tag, **attributes})

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def parsed(text: str) -> Head:
    head = Head()
    head.feed(text)
    return head


async def get(datasette: Datasette, path: str, status: int = 200, **headers) -> str:
    response = await datasette.client.get(path, headers=headers)
    assert response.status_code == status, (path, response.status_code)
    return response.text


# --- Datasette's own controls, named -----------------------------------------------------------


async def test_every_filter_control_has_a_name(datasette):
    text = await get(datasette, "/leftbehind/wards?region_name=North+East&_sort=cni_rank")
    controls = parsed(text).controls
    filters = [c for c in controls if (c.get("name") or "").startswith(("_filter", "_sort"))]
    assert {c["name"] for c in filters} >= {"_filter_column_1", "_filter_op_1", "_filter_value_1",
                                            "_filter_column", "_filter_op", "_filter_value", "_sort"}
    names = {c["name"]: c.get("aria-label") for c in filters}
    assert names["_filter_column_1"] == "Filter 1: column"
    assert names["_filter_op_1"] == "Filter 1: condition"
    assert names["_filter_value_1"] == "Filter 1: value"
    assert names["_filter_column"] == "New filter: column"
    assert names["_filter_op"] == "New filter: condition"
    assert names["_filter_value"] == "New filter: value"
    assert names["_sort"] == "Sort rows by"
    # Every other control of the page is labelled by a <label for> (the search box) or its own name.
    labelled = set(re.findall(r'<label for="([^"]+)"', text))
    unnamed = [c for c in controls if not c.get("aria-label") and c.get("id") not in labelled]
    assert unnamed == []


@pytest.mark.parametrize("path", ["/leftbehind", "/leftbehind?sql=select+1", "/leftbehind/find_ward?name=x"])
async def test_the_sql_editor_is_named_and_headings_follow_the_h1(datasette, path):
    text = await get(datasette, path)
    editors = [c for c in parsed(text).controls if c["tag"] == "textarea"]
    assert all(c.get("aria-label") == "SQL query" for c in editors)
    assert len(editors) == (0 if "find_ward" in path else 1)  # a canned query shows its SQL read-only
    main = text[text.index("<main"):text.index("</main>")]
    assert "<h3" not in main
    assert '<h2 class="lb-subheading">' in main


async def test_column_descriptions_scroll_in_a_named_region_a_keyboard_can_reach(datasette):
    text = await get(datasette, "/leftbehind/wards")
    match = re.search(r'<div class="lb-scroll-region lb-column-descriptions" ([^>]*)>\s*<dl class="column-descriptions">', text)
    assert match, "the column descriptions are not in their region"
    assert 'role="region"' in match.group(1) and 'tabindex="0"' in match.group(1)
    assert 'aria-label="What each column holds"' in match.group(1)
    assert text.count('class="column-descriptions"') == 1


@pytest.mark.parametrize("template", ["dashboard_view.html", "dashboard_chart.html", "dashboard_list.html"])
async def test_the_dashboard_templates_extend_the_plugins_own(datasette, template):
    """Ours wrap the plugin's page in <main>; the plugin's own template (by the prefix) is what they extend."""
    await datasette.invoke_startup()
    ours = datasette.jinja_env.get_template(template)
    theirs = datasette.jinja_env.get_template(f"datasette-dashboards:{template}")
    assert "templates/" + template in ours.filename.replace("\\", "/")
    assert "datasette_dashboards" in theirs.filename
    assert '{% extends "datasette-dashboards:' + template + '" %}' in Path(ours.filename).read_text()


# --- meta description and Open Graph -----------------------------------------------------------


async def test_every_page_type_has_a_description_and_open_graph_tags(datasette, data, db_path):
    missing: dict[str, object] = {}
    for page_type in page_types(data, db_path):
        meta = parsed(await get(datasette, page_type.path, page_type.status)).meta
        expected = [tag for tag in META_TAGS if not (tag == "og:url" and page_type.status != 200)]
        wrong = {tag: meta.get(tag) for tag in expected if len(meta.get(tag, [])) != 1 or not meta[tag][0].strip()}
        if wrong:
            missing[page_type.name] = wrong
            continue
        description = meta["description"][0]
        if not 30 <= len(description) <= 200 or description != meta["og:description"][0] or "<" in description:
            missing[page_type.name] = description
        if page_type.status == 200 and meta["og:url"][0] != "http://localhost" + page_type.path:
            missing[page_type.name] = meta["og:url"][0]
    assert missing == {}


async def test_descriptions_say_what_the_page_is_about(datasette, data):
    ward = data.execute("select ward_code, ward_name from wards where left_behind_2020 = 1 order by cni_rank").fetchone()
    meta = parsed(await get(datasette, f"/leftbehind/wards/{ward['ward_code']}")).meta
    assert meta["description"][0].startswith(f"Yes. {ward['ward_name']} is one of the ")
    publication = data.execute("select id, title from publications order by id").fetchone()
    meta = parsed(await get(datasette, f"/leftbehind/publications/{publication['id']}")).meta
    assert meta["description"][0].startswith(html.unescape(publication["title"]))
    meta = parsed(await get(datasette, "/leftbehind/search_publications")).meta
    assert meta["og:title"][0].startswith("What did the APPG read or publish")  # the query's title, not its SQL


def origin_datasette(db_path: Path, metadata: dict) -> Datasette:
    """The profile with a configured public origin, also reachable by a second name."""
    configured = {**metadata, "plugins": {**metadata.get("plugins", {}),
                                          "leftbehind": {"origin": "https://Example.ORG", "allowed_hosts": "alias.example"}}}
    return profile_datasette(db_path, configured)


async def test_og_url_comes_from_the_configured_origin_whatever_the_host(db_path, metadata):
    site = origin_datasette(db_path, metadata)
    for host in ("example.org", "alias.example"):
        meta = parsed(await get(site, "/leftbehind/wards?region_name=North+East", host=host)).meta
        assert meta["og:url"] == ["https://example.org/leftbehind/wards?region_name=North+East"], host
    refused = await site.client.get("/leftbehind/wards", headers={"host": "evil.example"})
    assert refused.status_code == 400 and "evil.example" not in refused.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Short and plain.", "Short and plain."),
        ("<p>An <strong>HTML</strong> description &amp; more.</p>", "An HTML description & more."),
        # 20 characters, then 25 for each more sentence: seven more fit in 200
        ("First sentence here. " + "Second sentence is long. " * 12,
         " ".join(["First sentence here."] + ["Second sentence is long."] * 7)),
        ("word " * 60, ("word " * 39).strip() + "…"),
    ],
)
def test_meta_summary_keeps_whole_sentences_or_cuts_at_a_word(text, expected):
    from leftbehind.site import page_meta as module
    summary = module.meta_summary(text)
    assert summary == expected
    assert len(summary) <= module.SUMMARY_CHARS


# --- without the site's plugins ------------------------------------------------------------------


def test_without_the_plugins_the_table_and_query_pages_still_render(db_path, tmp_path):
    """templates/ with Datasette's defaults: the filter is skipped, the page is Datasette's in <main>."""
    with default_server(db_path, tmp_path) as base:
        for path in ("/leftbehind/wards", "/leftbehind", "/leftbehind?sql=select+1"):
            with urllib.request.urlopen(base + path) as response:
                text = response.read().decode()
            assert '<main id="main">' in text and "lb-skip-link" in text, path
            assert 'aria-label="New filter: column"' not in text, path
