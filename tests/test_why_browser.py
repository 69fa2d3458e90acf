"""The ward page's answer and its similar neighbourhoods on a 390 px phone, in headless Chromium
(issue 23): Laindon Park (meets the CNI test, misses the IMD test), Moss Bay (meets both) and
a ward that joined the list in 2020. Expected ranks are recomputed from the source files with
the pandas fixtures of tests/test_deprivation.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser
from support.browser import PHONE, Visit, visit
from test_deprivation import LAINDON_PARK, MOSS_BAY, cni, imd2019, line, path  # noqa: F401 (fixtures)


def ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


@pytest_asyncio.fixture
async def phone(chromium: Browser, live_site: str) -> AsyncIterator[Visit]:
    context, opened = await visit(chromium, live_site, PHONE)
    try:
        yield opened
    finally:
        await context.close()


async def first_box(tab: Visit) -> str:
    return " ".join((await tab.page.locator(".lb-answer").inner_text()).split())


async def similar_listed(tab: Visit, data, code: str) -> None:
    """The page lists the ward's similar wards, in order, each linked, the flagged ones marked."""
    expected = data.execute(
        "select w.ward_code, w.left_behind_2020 from similar_ward_lists s, json_each(s.similar_ward_codes) similar "
        "join wards w on w.ward_code = similar.value where s.ward_code = ? order by similar.key", (code,)).fetchall()
    items = tab.page.locator("section[aria-labelledby=similar] .lb-ward-list > li")
    await items.first.scroll_into_view_if_needed()
    assert await items.count() == len(expected) >= 5
    for index, (similar_code, flagged) in enumerate(expected):
        item = items.nth(index)
        assert await item.locator("a").first.get_attribute("href") == f"/leftbehind/wards/{similar_code}"
        marked = await item.locator(".lb-mark--both, .lb-mark--joined").count()
        assert marked == flagged, similar_code
    assert await tab.page_width() <= PHONE["width"]


async def test_laindon_park_on_a_phone_meets_one_test_and_misses_the_other(phone: Visit, data, cni, imd2019):  # noqa: F811
    imd_rank = int(imd2019.loc[LAINDON_PARK, "rank"])
    await phone.open(f"/leftbehind/wards/{LAINDON_PARK}")
    box = await first_box(phone)
    assert box.startswith("No. Laindon Park is not a 'left behind' neighbourhood: it is among the 10% of wards most in need "
                          f"on the Community Needs Index (1st of {len(cni):,}), but not among the 10% of wards most deprived "
                          f"on the Index of Multiple Deprivation 2019 ({ordinal(imd_rank)} of {len(imd2019):,}; "
                          f"the 10% ends at {ordinal(line(len(imd2019)))}).")
    await phone.shoot("ward-meets-one-test")
    await similar_listed(phone, data, LAINDON_PARK)
    phone.assert_no_problems()


async def test_moss_bay_on_a_phone_meets_both_tests(phone: Visit, data, cni, imd2019):  # noqa: F811
    await phone.open(f"/leftbehind/wards/{MOSS_BAY}")
    box = await first_box(phone)
    assert box.startswith("Yes. Moss Bay is one of the 225")
    assert (f"It meets both tests: it is among the 10% of wards most in need on the Community Needs Index "
            f"({ordinal(int(cni.loc[MOSS_BAY, 'cni_rank']))} of {len(cni):,}) and among the 10% of wards most deprived "
            f"on the Index of Multiple Deprivation 2019 ({ordinal(int(imd2019.loc[MOSS_BAY, 'rank']))} of {len(imd2019):,}).") in box
    await phone.shoot("ward-meets-both-tests")
    await similar_listed(phone, data, MOSS_BAY)
    phone.assert_no_problems()


async def test_a_ward_that_joined_in_2020_says_so_on_a_phone(phone: Visit, data, path, cni):  # noqa: F811
    import pandas as pd

    original = pd.read_csv(path("cni2019"), usecols=["ward17_code", "Left Behind Area?"]).set_index("ward17_code")
    joined = cni[cni["official"] & ~original.loc[cni.index, "Left Behind Area?"]].sort_values("cni_rank")
    code, ward = next(joined.iterrows())
    await phone.open(f"/leftbehind/wards/{code}")
    box = await first_box(phone)
    assert box.startswith(f"Yes. {ward['ward17_name']} is one of the 225")
    assert "It joined the list in 2020: it was not in the original 2019 set" in box
    assert f"({ordinal(int(ward['cni_rank']))} of {len(cni):,})" in box
    await phone.shoot("ward-joined-2020")
    await similar_listed(phone, data, code)
    phone.assert_no_problems()
