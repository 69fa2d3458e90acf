"""Issue 21 in a real browser: data and error text from a request never run script on our origin.

Each page is opened in headless Chromium from the live server (the publishing profile, as
``make serve`` runs it). Script that ran would set ``window.pwned``; the tests check it never
is, and that the page did what a visitor asked otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest_asyncio
from playwright.async_api import Browser, Page

from support.browser import VIEWPORT, new_context, wait_for_markers

PWNED = "() => window.pwned === undefined"


@pytest_asyncio.fixture
async def page(chromium: Browser, live_site: str) -> AsyncIterator[Page]:
    context = await new_context(chromium, live_site, viewport=VIEWPORT)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_a_trace_page_runs_no_script(page: Page, live_site: str):
    """Datasette's _trace wrote SQLite's error text, which quotes the visitor's _where, raw into HTML."""
    where = quote('"<img src=x onerror=window.pwned=1>" = 1')
    response = await page.goto(f"{live_site}/leftbehind/wards.csv?_stream=on&_trace=1&_where={where}")
    assert response is not None and response.status == 400
    assert "_trace" in await response.text()
    assert await page.evaluate(PWNED)
    assert await page.locator("img").count() == 0


async def test_a_javascript_link_in_a_map_popup_runs_no_script(page: Page, live_site: str):
    """datasette-cluster-map writes a popup's link from the query's popup column, as it is."""
    sql = ("select 54.5 as latitude, -1.5 as longitude, "
           "json_object('title', 'Click me', 'link', 'javascript:window.pwned=1') as popup")
    await page.goto(f"{live_site}/leftbehind?sql={quote(sql)}")
    await wait_for_markers(page, 1)
    await page.locator(".leaflet-container .leaflet-marker-icon").first.click()
    link = page.locator(".leaflet-popup-content a")
    await link.wait_for()
    assert (await link.get_attribute("href")).startswith("javascript:")  # the plugin still writes it
    await link.click()
    assert await page.evaluate(PWNED)
    # An http(s) link in the same kind of popup still leads to its page.
    sql = sql.replace("javascript:window.pwned=1", "/leftbehind/wards/E05001595")
    await page.goto(f"{live_site}/leftbehind?sql={quote(sql)}")
    await wait_for_markers(page, 1)
    await page.locator(".leaflet-container .leaflet-marker-icon").first.click()
    await page.locator(".leaflet-popup-content a").click()
    await page.wait_for_url(f"{live_site}/leftbehind/wards/E05001595")
