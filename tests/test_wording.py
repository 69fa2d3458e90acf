"""Sentences the people's pages got wrong (issue 24), each checked against the database on every
page where it could be wrong again. Through Datasette's test client; what each sentence should
say is worked out here from the wards table with the test's own SQL.
"""

from __future__ import annotations

import re
import sqlite3
from html import unescape
from urllib.parse import urlencode



async def words(datasette, path: str) -> str:
    """The page's text, tags stripped, spaces collapsed."""
    response = await datasette.client.get(path)
    assert response.status_code == 200, path
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", response.text, flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split()).replace(" ,", ",").replace(" .", ".")


def linked_names(html: str, opening: str) -> set[str] | None:
    """The names linked in the sentence of ``html`` that starts with ``opening``, up to its full stop."""
    start = html.find(opening)
    if start < 0:
        return None
    sentence = html[start: html.index(".<", start) if ".<" in html[start:] else len(html)]
    sentence = sentence[: re.search(r"</a>\.|\.\s", sentence + ". ").end()]
    return {unescape(name) for name in re.findall(r"<a [^>]*>([^<]+)</a>", sentence)}


def todays_councils(sql: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every council of 2024 whose people lived in more than one council in 2017 (mergers), and one
    that had no left-behind neighbourhood at all."""
    return sql.execute(
        """select lad24_code, lad24_name, count(distinct lad_code) as councils, sum(left_behind_2020) as in_2020
        from wards group by lad24_code
        having count(distinct lad_code) > 1
        order by lad24_name"""
    ).fetchall()


async def test_todays_council_names_only_the_councils_its_left_behind_wards_were_in(datasette, sql):
    """Cumberland listed Carlisle among the councils of its left-behind neighbourhoods; Carlisle has none."""
    councils = todays_councils(sql)
    assert any(row["lad24_name"] == "Cumberland" for row in councils)
    assert any(row["in_2020"] == 0 for row in councils), "no merged council without a left-behind ward to check"
    for council in councils:
        path = f"/leftbehind/local_authorities_2024/{council['lad24_code']}"
        text = await words(datasette, path)
        html = (await datasette.client.get(path)).text
        all_2017 = {row[0] for row in sql.execute("select distinct lad_name from wards where lad24_code = ?", (council["lad24_code"],))}
        of_flagged = {
            row[0]
            for row in sql.execute(
                "select distinct lad_name from wards where lad24_code = ? and left_behind_2020 = 1", (council["lad24_code"],)
            )
        }
        assert linked_names(html, "In December 2017 these wards belonged to") == all_2017, council["lad24_name"]
        flagged = linked_names(html, "Its left-behind neighbourhoods were in")
        if of_flagged:
            assert flagged == of_flagged, council["lad24_name"]
        else:
            assert flagged is None, council["lad24_name"]
            assert "None of them is in the 2020 set of left-behind neighbourhoods." in text
        assert "Their councils then" not in text


async def test_find_my_ward_does_not_give_todays_council_the_wards_of_2017_as_its_own(datasette, sql):
    """Find my ward said Cumberland has 78 wards: 78 wards of 2017 now mostly lie in it (it has 46 of its own)."""
    checked = []
    for council in todays_councils(sql):
        if council["lad24_name"] in {row[0] for row in sql.execute("select lad_name from local_authorities")}:
            continue  # a council of the same name in 2017 is listed first, with its own wards
        wards, in_2020 = sql.execute(
            "select count(*), sum(left_behind_2020) from wards where lad24_code = ?", (council["lad24_code"],)
        ).fetchone()
        text = await words(datasette, "/find-my-ward?" + urlencode({"q": council["lad24_name"]}))
        block = text[text.index(f"{council['lad24_name']} (council today (2024)"):]
        assert f"of its {wards:,} wards" not in block
        if "most of whose residents now live in" not in block.split("(council today (2024)")[1][:200]:
            continue  # listed after the first councils found, by name only
        assert f"Of the {wards:,} wards of December 2017 most of whose residents now live in {council['lad24_name']}, {in_2020} " in block
        checked.append(council["lad24_name"])
    assert "Cumberland" in checked


async def test_a_region_page_lists_its_neighbourhoods_in_the_order_it_says(datasette, sql):
    """The region page said "listed below by council" but listed them by CNI rank."""
    for region in sql.execute("select region_code, region_name from regions"):
        response = await datasette.client.get(f"/leftbehind/regions/{region['region_code']}")
        section = response.text[response.text.index('<section aria-labelledby="left-behind">'):]
        section = section[: section.index("</ul>")]
        listed = re.findall(r'href="/leftbehind/wards/(E05\d+)"', section)
        expected = [
            row[0]
            for row in sql.execute(
                "select ward_code from wards where region_code = ? and left_behind_2020 = 1 order by cni_rank, ward_name",
                (region["region_code"],),
            )
        ]
        assert listed == expected, region["region_name"]
        text = unescape(response.text)
        assert "listed below, most in need first" in text and "listed below by council" not in text
