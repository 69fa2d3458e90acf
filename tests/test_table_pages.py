"""Table pages and search results a person can read: labels in words, flags and shares in words,
topics by name, facets folded away on a phone (issue 24). Through Datasette's test client;
expected labels come from the declarations (leftbehind/tables.py), values from the database.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from leftbehind.tables import TABLES

DECLARED = {table.name: table for table in TABLES}


async def page(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def phone_labels(text: str) -> dict[int, str]:
    """The label each cell of a phone's card is shown under, by column position: the last rule wins."""
    labels: dict[int, str] = {}
    for position, label in re.findall(r'td:nth-of-type\((\d+)\):before \{ content: "((?:[^"\\]|\\.)*)"; \}', text):
        labels[int(position)] = re.sub(r"\\0*([0-9a-f]{2,6})\s?", lambda m: chr(int(m.group(1), 16)), label)
    return labels


def header_columns(text: str) -> list[str]:
    return re.findall(r'<th [^>]*data-column="([^"]+)"', text)


@pytest.mark.parametrize("table", ["wards", "publications", "local_authorities_2024", "left_behind_neighbourhoods"])
async def test_a_phones_cards_label_each_value_in_words(datasette, table):
    text = await page(datasette, f"/leftbehind/{table}")
    columns = [column for column in header_columns(text)]
    labels = phone_labels(text)
    declared = DECLARED[table]
    for position, column in enumerate(columns, start=1):
        if column not in declared.column_names:
            continue  # the rowid Datasette adds to a table without a primary key
        assert labels[position] == declared.column(column).human_label, (table, column)
        assert "_" not in labels[position], (table, column, labels[position])


def test_every_column_has_a_label_without_underscores():
    unreadable = [
        f"{table.name}.{column.name}: {column.human_label}"
        for table in TABLES
        for column in table.columns
        if "_" in column.human_label or column.human_label != column.human_label.strip()
    ]
    assert unreadable == []


async def test_flags_and_shares_read_in_words_and_exports_keep_numbers(datasette, sql):
    ward = sql.execute(
        "select ward_code, population_share_in_imd_decile_1_lsoas as share from wards"
        " where left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas between 0.01 and 0.99 order by cni_rank"
    ).fetchone()
    text = await page(datasette, f"/leftbehind/wards?ward_code={ward['ward_code']}")
    cells = dict(re.findall(r'<td class="col-([a-z0-9_-]+) type-[a-z]+">(.*?)</td>', text, re.DOTALL))
    assert cells["left_behind_2020"].strip() == "yes"
    assert cells["population_share_in_imd_decile_1_lsoas"].strip() == f"{ward['share'] * 100:.1f}%"
    exported = (await datasette.client.get(f"/leftbehind/wards.json?ward_code={ward['ward_code']}&_shape=array")).json()[0]
    assert exported["left_behind_2020"] == 1
    assert exported["population_share_in_imd_decile_1_lsoas"] == ward["share"]


async def test_facets_name_topics_and_flags_in_words(datasette, sql):
    text = unescape(await page(datasette, "/leftbehind/publications?_search=community"))
    topics = text[text.index('id="facet-topics"'):]
    topics = topics[: topics.index("</ul>")]
    shown = re.findall(r"<li><a [^>]*>([^<]+)</a>", topics)
    labels = dict(sql.execute("select id, label from topics"))
    assert shown and set(shown) <= set(labels.values()), shown
    assert not set(shown) & set(labels) - set(labels.values())  # no slug where a label differs
    flag = text[text.index('id="facet-appg_output"'):]
    flag = flag[: flag.index("</ul>")]
    assert sorted(re.findall(r"<li><a [^>]*>([^<]+)</a>", flag)) == ["no", "yes"]


async def test_facets_are_folded_and_a_chosen_value_says_how_to_remove_it(datasette, sql):
    topic, label = sql.execute(
        "select t.id, t.label from topics t join publication_topics p on p.topic_id = t.id group by t.id order by count(*) desc"
    ).fetchone()
    text = unescape(await page(datasette, f"/leftbehind/publications?topics__arraycontains={topic}"))
    facets = text[text.index('<details class="lb-facets" open>'):]
    summary = facets[facets.index("<summary>"): facets.index("</summary>")]
    assert "Filter these rows" in summary and "1 value chosen" in summary
    assert "matchMedia(\"(max-width: 576px)\")" in facets[: facets.index("<summary>")]  # closed on a phone
    assert f'aria-label="Remove this filter: {label}">&#x2716; remove</a>' in text.replace("✖", "&#x2716;")
    assert text.index('class="lb-facets"') < text.index('class="rows-and-columns"')
