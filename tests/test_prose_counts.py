"""Counts stated in prose come from the database: README's are written by leftbehind.readme and
checked here, the home page computes its own, and the descriptions Datasette shows agree."""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from leftbehind import readme
from leftbehind.build import ROOT


@pytest.fixture(scope="module")
def facts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        sets = dict(conn.execute("select id, wards from left_behind_sets"))
        population = dict(conn.execute("select id, population from left_behind_sets"))
        return {
            "wards": conn.execute("select count(*) from wards").fetchone()[0],
            "set_2019": sets["2019"],
            "set_2020": sets["2020"],
            "population_2020": population["2020"],
            "flagged": conn.execute(
                "select count(*) from wards where left_behind_2019 = 1 or left_behind_2020 = 1"
            ).fetchone()[0],
        }


def test_readme_states_the_databases_counts(db_path):
    text = readme.README.read_text(encoding="utf-8")
    assert readme.with_counts(text, readme.counts_from(db_path)) == text, (
        "README.md states counts that differ from a fresh build: run `make readme`"
    )


def test_readme_types_no_count_of_wards_without_a_mark():
    assert readme.unmarked_counts(readme.README.read_text(encoding="utf-8")) == []


def test_readme_check_fails_once_the_data_changes(db_path, tmp_path):
    assert readme.main([str(db_path), "--check"]) == 0
    changed = tmp_path / "changed.db"
    shutil.copy(db_path, changed)
    with sqlite3.connect(changed) as conn:
        conn.execute("delete from wards where ward_code = (select min(ward_code) from wards)")
    assert readme.main([str(changed), "--check"]) == 1


def test_a_mark_gets_the_value_of_its_count():
    text = "every ward (<!-- count:wards -->1<!-- /count -->) and <!-- count:wards -->2<!-- /count -->"
    assert readme.with_counts(text, {"wards": "7,433"}) == text.replace(">1<", ">7,433<").replace(">2<", ">7,433<")
    with pytest.raises(ValueError, match="does not know: nonsense"):
        readme.with_counts("<!-- count:nonsense -->3<!-- /count -->", {"wards": "1"})


@pytest.mark.parametrize("line", [
    "see the 225 left-behind neighbourhoods on a map",
    "for the 230 wards flagged in either set",
    "so 10 of the 225 score 0 on it",
    "after 'load all', all 7,433 wards",
    "both sets (206 in 2019, 225 in 2020)",
    "12 wards get no LSOA",
])
def test_a_typed_count_of_wards_is_found(line):
    assert readme.unmarked_counts(line) == [f"line 1: {line}"]


@pytest.mark.parametrize("line", [
    "the 2024 wards it overlaps",                  # a year
    "for the 21 Trafford wards of the same vintage",  # a measurement of another source
    "up to 100 query parameters and 10 facets",
    "the <!-- count:wards -->7,433<!-- /count --> wards",
])
def test_other_numbers_are_not_taken_for_counts(line):
    assert readme.unmarked_counts(line) == []


async def test_home_page_counts_are_the_databases(datasette, facts):
    text = " ".join(html.unescape((await datasette.client.get("/")).text).split())
    assert f"See the {facts['set_2020']} left-behind neighbourhoods on a map" in text
    millions = f"{facts['population_2020'] / 1_000_000:.1f}"
    assert (
        f"The 2020 set has {facts['set_2020']} wards, home to about {millions} million people "
        f"({facts['population_2020']:,} in mid-2017); the original 2019 set had {facts['set_2019']}."
    ) in text
    assert f"The Community Needs Index covers {facts['wards']:,} wards of England." in text


def test_the_home_page_text_in_metadata_types_no_count(metadata):
    text = re.sub(r"<[^>]+>", " ", metadata["description_html"])
    assert readme.unmarked_counts(text) == []
    assert not re.search(r"\b\d{3}\b(?! ?%)", text.replace("2019", "").replace("2020", "").replace("2024", "")), text


def test_counts_in_metadata_descriptions_and_charts_are_the_databases(facts):
    """Descriptions and chart titles that Datasette shows as they are typed must agree with the data."""
    text = " ".join((ROOT / "metadata.yml").read_text(encoding="utf-8").split())
    for phrase in (
        f"2020 interim set of {facts['set_2020']} 'left behind' neighbourhoods",
        f"original 2019 set of {facts['set_2019']}",
        f"rank of {facts['wards']:,} wards",
        f"how the {facts['set_2020']} compare with all {facts['wards']:,} wards",
        f"'2019 set ({facts['set_2019']})'",
        f"'2020 set ({facts['set_2020']})'",
        f"each of the {facts['flagged']} wards flagged in either set",
        f"The {facts['set_2020']} 'left behind' neighbourhoods of the 2020 interim set",
    ):
        assert phrase in text, phrase
