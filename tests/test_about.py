"""The About page, the footer on every page, and the dashboard, through Datasette's test client."""

from __future__ import annotations

import sqlite3

import pytest


@pytest.fixture(scope="module")
def build_facts(db_path) -> dict:
    with sqlite3.connect(db_path) as conn:
        info = dict(conn.execute("select item, value from build_info"))
        sources = [row[0] for row in conn.execute("select id from sources order by id")]
        attributions = [row[0] for row in conn.execute("select attribution from sources")]
    return {"info": info, "sources": sources, "attributions": attributions, "path": db_path}


@pytest.mark.parametrize("path", ["/", "/leftbehind", "/leftbehind/wards", "/leftbehind/wards/E05001595", "/-/dashboards/left-behind"])
async def test_the_footer_leaves_the_builds_details_to_about(datasette, build_facts, path):
    """Every page's footer links the licences, sources and About, but not the build's commit, file ids or query time."""
    response = await datasette.client.get(path)
    assert response.status_code == 200
    footer = response.text[response.text.index('<footer class="ft">'):]
    for link in ('href="/about#licences"', 'href="/leftbehind/sources"', 'href="/about#cite"', 'href="/about#build"'):
        assert link in footer, link
    assert build_facts["info"]["built_at"] not in footer
    assert "Queries took" not in footer
    commit = build_facts["info"].get("repository_commit")
    assert not commit or commit[:12] not in footer
    for source_id in build_facts["sources"]:
        assert f">{source_id}</a>" not in footer


async def test_about_says_when_and_from_what_the_database_was_built(datasette, build_facts):
    text = (await datasette.client.get("/about")).text
    build = text[text.index('<h2 id="build">'):]
    assert f"This database was built {build_facts['info']['built_at']}" in build
    commit = build_facts["info"].get("repository_commit")
    if commit:
        assert f"<code>{commit[:12]}</code>" in build
    for source_id in build_facts["sources"]:
        assert f'href="/leftbehind/sources/{source_id}"' in build and f">{source_id}</a>" in build


async def test_about_page_explains_licences_and_citation(datasette, build_facts):
    import html

    response = await datasette.client.get("/about")
    text = html.unescape(response.text)
    for heading in ("What a 'left behind' neighbourhood is", "How the map points and populations were made, and how far to trust them", "Licences and attribution", "How to cite", "Report an error or add a publication"):
        assert heading in text
    for attribution in build_facts["attributions"]:
        assert " ".join(attribution.split()) in " ".join(text.split())
    with sqlite3.connect(build_facts["path"]) as conn:
        sets = dict(conn.execute("select id, wards from left_behind_sets"))
    flat = " ".join(text.split())
    assert f"2019, had {sets['2019']} wards" in flat and f"interim set of {sets['2020']} wards" in flat


async def test_about_page_counts_are_the_databases(datasette, db_path, catalogue_yaml):
    """The figures About states are counted from the database, not typed."""
    import html

    text = " ".join(html.unescape((await datasette.client.get("/about")).text).split())
    with sqlite3.connect(db_path) as conn:
        wards = conn.execute("select count(*) from wards").fetchone()[0]
        moved = conn.execute("select count(*) from wards where location_method != 'ONS ward label point'").fetchone()[0]
        no_population = conn.execute("select count(*) from wards where population is null").fetchone()[0]
    assert f"every English ward of the CNI ({wards:,};" in text
    for name in ("sessions", "publications", "people", "organisations", "topics"):
        assert f">{name}</a> ({len(catalogue_yaml[name])})" in text, name
        cni_ties = [row[0] for row in conn.execute("select cni_rank from wards group by 1 having count(*) > 1")]
        engaged_ties = [row[0] for row in conn.execute(
            "select engaged_community_rank from wards group by 1 having count(*) > 1"
        )]
        in_2020 = conn.execute("select sum(left_behind_2020) from wards").fetchone()[0]
        imd_zero = conn.execute(
            "select count(*) from wards where left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0"
        ).fetchone()[0]
    assert f"For {moved} wards that point is broken" in text
    assert f"{no_population} wards get no LSOA at all" in text
    assert len(cni_ties) == len(engaged_ties) == 1, "About speaks of one tie in each; say more if there are more"
    assert f"Two wards share CNI rank {cni_ties[0]:,} and two share engaged-community rank {engaged_ties[0]:,};" in text
    assert f"{imd_zero} of the {in_2020} score 0 on this measure" in text
    assert f"the {in_2020} of the 2020 set on a map" in text


async def test_home_page_links_the_dashboard_and_about(datasette):
    response = await datasette.client.get("/")
    assert 'href="/-/dashboards/left-behind"' in response.text
    assert 'href="/about"' in response.text


async def test_every_dashboard_chart_query_answers(datasette, metadata):
    dashboard = metadata["plugins"]["datasette-dashboards"]["left-behind"]
    laid_out = {chart for row in dashboard["layout"] for chart in row}
    assert laid_out == set(dashboard["charts"])
    for slug, chart in dashboard["charts"].items():
        response = await datasette.client.get(f"/{chart['db']}.json", params={"sql": chart["query"], "_shape": "objects"})
        assert response.status_code == 200, (slug, response.text[:300])
        rows = response.json()["rows"]
        assert rows, slug
        assert not response.json().get("truncated"), f"{slug} returns more rows than a chart is sent"
        page = await datasette.client.get(f"/-/dashboards/left-behind/{slug}")
        assert page.status_code == 200, slug


async def test_dashboard_charts_agree_with_the_wards(datasette, db_path, metadata):
    with sqlite3.connect(db_path) as conn:
        by_region = dict(conn.execute("select region_name, sum(left_behind_2020) from wards group by 1"))
    query = metadata["plugins"]["datasette-dashboards"]["left-behind"]["charts"]["sets-by-region"]["query"]
    response = await datasette.client.get("/leftbehind.json", params={"sql": query, "_shape": "objects"})
    rows = [r for r in response.json()["rows"] if r["ward_set"].startswith("2020")]
    assert {r["region"]: r["wards"] for r in rows} == by_region


async def test_about_states_the_caveats_with_their_figures(datasette, db_path):
    import html

    text = " ".join(html.unescape((await datasette.client.get("/about")).text).split())
    with sqlite3.connect(db_path) as conn:
        facts = conn.execute("""select sum(location_precision like 'rounded%'), sum(left_behind_2020 = 1 and lad24_name != lad_name),
            sum(left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0) from wards""").fetchone()
        outlines, inside = conn.execute("select count(*), sum(point_inside) from ward_outlines").fetchone()
    assert "off by 7.7% on average, from −18.2% to +20.6%" in text
    assert f"{facts[0]} label points are written in the source with only two decimals or fewer" in text
    assert f"{inside} of {outlines} lie inside it" in text
    assert f"{facts[1]} of the 225 neighbourhoods of 2020 lie in councils that no longer exist" in text
    assert f"{facts[2]} of the 225 score 0 on this measure" in text
    assert "No open licence is stated for the Community Needs Index" in text
    assert 'href="None"' not in text
