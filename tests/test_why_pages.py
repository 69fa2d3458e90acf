"""The ward page says why a ward is, or is not, left behind, and About says how far the public
data reproduces the 2020 set and what the 2025 picture is (issue 23), through Datasette's test
client on the real build.

Expected ranks, lines, differences and 2025 counts are recomputed from the source files with
the pandas fixtures of tests/test_deprivation.py (test code, sharing nothing with the build);
the sentences are checked for the facts they must state, not copied from a page.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pandas as pd
import pytest
from test_deprivation import LAINDON_PARK, MOSS_BAY, averages_2025, cni, imd2019, line, path  # noqa: F401 (fixtures)

DOMAIN_NAMES = {  # file 22's prefixes, and the names the page gives the domains
    "Income": "Income", "Employment": "Employment", "Education": "Education, skills and training",
    "Health": "Health and disability", "Crime": "Crime", "Housing_and_Access": "Barriers to housing and services",
    "Environment": "Living environment",
}


def ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def words(html: str) -> str:
    """The text of some HTML, as one line."""
    text = re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&")
    return " ".join(text.split()).replace(" ,", ",").replace(" .", ".").replace(" :", ":")


async def page(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def answer_of(html: str) -> str:
    return words(re.search(r'<p class="lb-answer[^"]*">(.*?)</p>', html, re.S).group(1))


def section(html: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found, heading_id
    return found.group(1)


@pytest.fixture(scope="module")
def both_sets(path, cni) -> pd.DataFrame:  # noqa: F811
    """Each CNI ward's two tests of 2020 and its sets, from files 1, 2 and 22."""
    original = pd.read_csv(path("cni2019"), usecols=["ward17_code", "Left Behind Area?"]).set_index("ward17_code")
    frame = cni.join(original.rename(columns={"Left Behind Area?": "original"}))
    return frame


def need_phrase(rank: int, total: int) -> str:
    if rank <= line(total):
        return f"among the 10% of wards most in need on the Community Needs Index ({ordinal(rank)} of {total:,})"
    return (f"not among the 10% of wards most in need on the Community Needs Index ({ordinal(rank)} of {total:,}; "
            f"the 10% ends at {ordinal(line(total))})")


def deprivation_phrase(rank: int, total: int) -> str:
    if rank <= line(total):
        return f"among the 10% of wards most deprived on the Index of Multiple Deprivation 2019 ({ordinal(rank)} of {total:,})"
    return (f"not among the 10% of wards most deprived on the Index of Multiple Deprivation 2019 ({ordinal(rank)} of "
            f"{total:,}; the 10% ends at {ordinal(line(total))})")


async def test_laindon_park_says_it_meets_the_cni_test_and_misses_the_imd_test(datasette, cni, imd2019):  # noqa: F811
    name = cni.loc[LAINDON_PARK, "ward17_name"]
    imd_rank = imd2019.loc[LAINDON_PARK, "rank"]
    assert imd_rank > line(len(imd2019))  # SOURCES.md: the CNI's number one is not in the IMD's 10%
    answer = answer_of(await page(datasette, f"/leftbehind/wards/{LAINDON_PARK}"))
    first = answer.split(". ")[1] + "."
    assert first == (
        f"{name} is not a 'left behind' neighbourhood: it is {need_phrase(1, len(cni))}, but "
        f"{deprivation_phrase(imd_rank, len(imd2019))}."
    )


async def test_wards_in_neither_set_that_meet_one_test_say_which(datasette, both_sets, imd2019):  # noqa: F811
    frame = both_sets.join(imd2019[["rank"]].rename(columns={"rank": "imd_rank"}), how="inner")
    frame["in_cni"] = frame["cni_rank"] <= line(len(both_sets))
    frame["in_imd"] = frame["imd_rank"] <= line(len(imd2019))
    neither_set = frame[~frame["official"] & ~frame["original"]]
    # The figure: 513 wards among the CNI's 10% most in need are in neither set.
    assert (both_sets["cni_rank"] <= line(len(both_sets)))[~both_sets["official"] & ~both_sets["original"]].sum() == 513
    one_test = neither_set[neither_set["in_cni"] != neither_set["in_imd"]]
    sample = pd.concat([one_test[one_test["in_cni"]].sample(6, random_state=23),
                        one_test[one_test["in_imd"]].sample(6, random_state=23)])
    for code, ward in sample.iterrows():
        answer = answer_of(await page(datasette, f"/leftbehind/wards/{code}"))
        need = need_phrase(ward["cni_rank"], len(both_sets))
        deprivation = deprivation_phrase(ward["imd_rank"], len(imd2019))
        met, missed = (need, deprivation) if ward["in_cni"] else (deprivation, need)
        assert answer.startswith(
            f"No. {ward['ward17_name']} is not a 'left behind' neighbourhood: it is {met}, but {missed}."
        ), (code, answer)


async def test_flagged_wards_state_both_tests(datasette, both_sets, imd2019):  # noqa: F811
    reproduced = both_sets.join(imd2019[["rank"]], how="inner")
    reproduced = reproduced[(reproduced["cni_rank"] <= line(len(both_sets))) & (reproduced["rank"] <= line(len(imd2019)))]
    joined = reproduced[reproduced["official"] & ~reproduced["original"]].sort_values("cni_rank").index[0]
    for code, first_words in ((MOSS_BAY, "Yes."), (joined, "Yes.")):
        ward = reproduced.loc[code]
        answer = answer_of(await page(datasette, f"/leftbehind/wards/{code}"))
        assert answer.startswith(f"{first_words} {ward['ward17_name']} is one of the 225")
        assert (f"It meets both tests: it is {need_phrase(ward['cni_rank'], len(both_sets))} and "
                f"{deprivation_phrase(ward['rank'], len(imd2019))}.") in answer
        assert ("joined the list in 2020" in answer) == (code == joined)


async def test_a_flagged_ward_the_public_data_misses_says_so_with_its_reason(datasette, both_sets, imd2019):  # noqa: F811
    frame = both_sets.join(imd2019[["rank"]], how="inner")
    missed = frame[frame["official"] & (frame["rank"] > line(len(imd2019)))].sort_values("cni_rank")
    code, ward = next(missed.iterrows())
    html = await page(datasette, f"/leftbehind/wards/{code}")
    answer = answer_of(html)
    assert answer.startswith(f"Yes. {ward['ward17_name']}")
    assert f"the public ward figures this site holds rank it {ordinal(ward['rank'])} of {len(imd2019):,}" in answer
    assert "OCSI's own ward-level IMD, which is not published" in words(html)


async def test_the_imd_domains_in_words_with_their_strips(datasette, imd2019):  # noqa: F811
    html = await page(datasette, f"/leftbehind/wards/{MOSS_BAY}")
    part = section(html, "deprivation")
    text = words(part)
    total = len(imd2019)
    ranks = {prefix: int(imd2019[f"{prefix}_Score"].rank(ascending=False, method="min")[MOSS_BAY]) for prefix in DOMAIN_NAMES}
    assert f"{ordinal(imd2019.loc[MOSS_BAY, 'rank'])} most deprived of {total:,} wards" in text
    for prefix, name in DOMAIN_NAMES.items():
        assert f"{name} is about" in text and f"{ordinal(ranks[prefix])} most deprived of {total:,} wards" in text, name
    assert part.count('class="lb-scale"') == 8  # the IMD and its seven domains, as the CNI's
    # What weighs most: the two domains it is most deprived on, named first.
    first, second = sorted(ranks, key=lambda prefix: (ranks[prefix], prefix))[:2]
    assert (f"most deprived on {DOMAIN_NAMES[first].lower()} ({ordinal(ranks[first])}) and "
            f"{DOMAIN_NAMES[second].lower()} ({ordinal(ranks[second])})") in text


@pytest.mark.parametrize("code", [LAINDON_PARK, MOSS_BAY])
async def test_the_2025_sentence_is_indicative(datasette, averages_2025, cni, code):  # noqa: F811
    need = averages_2025["cni2023"].rank(ascending=False, method="min")[code]
    deprived = averages_2025["imd2025"].rank(ascending=False, method="min")[code]
    text = words(section(await page(datasette, f"/leftbehind/wards/{code}"), "since"))
    assert (f"ranks {ordinal(int(need))} most in need of {len(averages_2025):,} wards on the Community Needs Index 2023 "
            f"and {ordinal(int(deprived))} most deprived on the Index of Multiple Deprivation 2025") in text
    within = (need <= line(len(averages_2025)), deprived <= line(len(averages_2025)))
    expected = {(True, True): "among the 10% on both", (True, False): "10% most in need but not the 10% most deprived",
                (False, True): "10% most deprived but not the 10% most in need", (False, False): "on neither"}[within]
    assert expected in text
    assert ("no longer meet the definition" in text) == (bool(cni.loc[code, "official"]) and not all(within))
    assert "indicative" in text.lower() and "not an official set" in text


async def test_similar_neighbourhoods_are_listed_with_the_flagged_marked(datasette, db_path, cni):  # noqa: F811
    with sqlite3.connect(db_path) as conn:
        similar = json.loads(conn.execute(
            "select similar_ward_codes from similar_ward_lists where ward_code = ?", (LAINDON_PARK,)).fetchone()[0])
    part = section(await page(datasette, f"/leftbehind/wards/{LAINDON_PARK}"), "similar")
    items = re.findall(r"<li>(.*?)</li>", part, re.S)
    assert len(items) == len(similar) >= 5
    for code, item in zip(similar, items):
        assert f'href="/leftbehind/wards/{code}"' in item
        assert cni.loc[code, "ward17_name"] in item
        assert ("Left behind" in item) == bool(cni.loc[code, "official"]), code
    assert f'href="/leftbehind/similar_wards?ward_code={LAINDON_PARK}"' in part


async def test_about_states_the_reproduction_and_every_difference(datasette, cni, imd2019):  # noqa: F811
    frame = cni.join(imd2019[["rank"]], how="left")
    reproduced = set(frame.index[(frame["cni_rank"] <= line(len(cni))) & (frame["rank"] <= line(len(imd2019)))])
    official = set(cni.index[cni["official"]])
    html = await page(datasette, "/about")
    text = words(html)
    assert f"The public data reproduces {len(reproduced & official)} of the {len(official)} wards of the 2020 set." in text
    assert f"The two tests give {len(reproduced)} wards" in text
    listed = re.findall(r'<li><a href="/leftbehind/wards/(E\d+)">(.*?)</li>', html, re.S)
    listed = {code: words(rest) for code, rest in listed}
    assert set(listed) == (official - reproduced) | (reproduced - official)
    for code, item in listed.items():
        assert f"CNI rank {frame.loc[code, 'cni_rank']:,}, IMD 2019 ward rank {int(frame.loc[code, 'rank']):,}." in item
    for heading, codes in (("In the official 2020 set, not reproduced", official - reproduced),
                           ("Reproduced, not in the official 2020 set", reproduced - official)):
        assert f"{heading} ({len(codes)})" in text


async def test_about_states_the_indicative_2025_counts(datasette, averages_2025, cni):  # noqa: F811
    lines = line(len(averages_2025))
    in_need = averages_2025["cni2023"].rank(ascending=False, method="min") <= lines
    deprived = averages_2025["imd2025"].rank(ascending=False, method="min") <= lines
    official = list(cni.index[cni["official"]])
    text = words(await page(datasette, "/about"))
    assert f"Indicatively, {int((in_need & deprived).sum())} wards would meet both tests on the newest indices." in text
    assert (f"Of the {len(official)} neighbourhoods of the 2020 set, {int(in_need[official].sum())} are still among the "
            f"10% most in need on the CNI 2023, {int(deprived[official].sum())} among the 10% most deprived on the "
            f"IMD 2025, and {int((in_need & deprived)[official].sum())} on both.") in text
    assert "It is not an official set" in text and "indicatively" in text


async def test_the_dashboard_chart_of_the_2025_picture_by_region(datasette, metadata, averages_2025, cni, db_path):  # noqa: F811
    lines = line(len(averages_2025))
    frame = pd.DataFrame({
        "cni": averages_2025["cni2023"].rank(ascending=False, method="min") <= lines,
        "imd": averages_2025["imd2025"].rank(ascending=False, method="min") <= lines,
    })
    frame["both"] = frame["cni"] & frame["imd"]
    with sqlite3.connect(db_path) as conn:  # the 2017 region of each ward (tested in test_wards_derivation)
        regions = pd.read_sql("select ward_code, region_name from wards", conn).set_index("ward_code")["region_name"]
    official = frame.loc[list(cni.index[cni["official"]])].join(regions)
    expected = official.groupby("region_name").agg(wards=("cni", "size"), cni=("cni", "sum"), imd=("imd", "sum"), both=("both", "sum"))
    chart = metadata["plugins"]["datasette-dashboards"]["left-behind"]["charts"]["still-2025-by-region"]
    assert "indicative" in chart["title"] and "not an official set" in chart["title"]
    response = await datasette.client.get("/leftbehind.json", params={"sql": chart["query"], "_shape": "objects"})
    got = {(row["region"], row["measure"]): row["wards"] for row in response.json()["rows"]}
    columns = {"1. in the 2020 set": "wards", "2. still on the CNI 2023": "cni", "3. still on the IMD 2025": "imd",
               "4. still on both": "both"}
    assert got == {(region, measure): int(expected.loc[region, column])
                   for region in expected.index for measure, column in columns.items()}


async def test_a_ward_without_an_imd_figure_says_so_and_shows_no_domains(datasette, cni, imd2019):  # noqa: F811
    missing = sorted(set(cni.index) - set(imd2019.index))
    assert len(missing) == 12  # SOURCES.md, file 22: the wards with no best-fit LSOA
    code = missing[0]
    html = await page(datasette, f"/leftbehind/wards/{code}")
    answer = answer_of(html)
    need = need_phrase(cni.loc[code, "cni_rank"], len(cni))
    assert f"it is {need}, and it has no ward figure on the Index of Multiple Deprivation 2019" in answer
    assert section(html, "deprivation").count('class="lb-scale"') == 0
    assert '<section aria-labelledby="since">' not in html


async def test_a_ward_that_left_in_2020_gives_the_two_tests_of_2020(datasette, both_sets, imd2019):  # noqa: F811
    frame = both_sets.join(imd2019[["rank"]], how="inner")
    left = frame[frame["original"] & ~frame["official"]].sort_values("cni_rank")
    code, ward = next(left.iterrows())
    answer = answer_of(await page(datasette, f"/leftbehind/wards/{code}"))
    assert answer.startswith(f"Not any more. {ward['ward17_name']}")
    need, deprivation = need_phrase(ward["cni_rank"], len(both_sets)), deprivation_phrase(ward["rank"], len(imd2019))
    within = (ward["cni_rank"] <= line(len(both_sets)), ward["rank"] <= line(len(imd2019)))
    clause = f"it is {need} and {deprivation}" if within[0] == within[1] else (
        f"it is {need}, but {deprivation}" if within[0] else f"it is {deprivation}, but {need}")
    assert f"On the two tests of 2020, {clause}." in answer
