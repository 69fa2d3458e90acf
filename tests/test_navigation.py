"""Every page a person lands on leads somewhere (issue 24): the site's navigation on every page type,
the error pages included, and 404 and 400 pages that say what went wrong and offer the way on.
Through Datasette's test client, on the page types the accessibility audit uses (tests/support/pages.py).
"""

from __future__ import annotations

import re
from html import unescape

from support.pages import page_types

NAVIGATION = {
    "Find my ward": "/find-my-ward",
    "Map": "/leftbehind/left_behind_neighbourhoods",
    "APPG archive": "/archive",
    "Dashboard": "/-/dashboards/left-behind",
    "About": "/about",
}


def site_navigation(html: str) -> dict[str, str]:
    """label -> href of the links in the header's site navigation."""
    header = html[html.index("<header>"): html.index("</header>")]
    bar = header[header.index('class="lb-site-bar"'):]
    return {unescape(label): href for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', bar)}


async def test_every_page_type_has_the_site_navigation_and_each_link_answers(datasette, data, db_path):
    for page_type in page_types(data, db_path):
        response = await datasette.client.get(page_type.path)
        assert response.status_code == page_type.status, page_type.name
        links = site_navigation(response.text)
        assert links.get("Left Behind Neighbourhoods") == "/", page_type.name
        for label, href in NAVIGATION.items():
            assert links.get(label) == href, (page_type.name, label, links)
    for href in NAVIGATION.values():
        assert (await datasette.client.get(href)).status_code == 200, href


async def test_the_current_page_is_marked_in_the_navigation(datasette):
    html = (await datasette.client.get("/archive")).text
    assert '<a href="/archive" aria-current="page">APPG archive</a>' in html
    assert html.count('aria-current="page"') == 1


async def test_a_404_says_the_page_is_not_there_and_offers_home_and_find_my_ward(datasette):
    for path in ("/leftbehind/no_such_table", "/leftbehind/wards/E05999999", "/no/such/page"):
        response = await datasette.client.get(path)
        assert response.status_code == 404, path
        html = response.text
        main = html[html.index("<main"): html.index("</main>")]
        assert "<h1>Page not found</h1>" in main
        assert "There is no page at this address." in main
        assert '<a href="/">The home page</a>' in main
        assert '<a href="/find-my-ward">Find my ward</a>' in main
        assert '<form class="lb-search" action="/find-my-ward" method="get" role="search">' in main
        assert "<title>Page not found (404): Left Behind Neighbourhoods</title>" in html


async def test_a_400_says_what_was_wrong_in_the_address(datasette):
    response = await datasette.client.get("/leftbehind/wards?_sort=no_such_column")
    assert response.status_code == 400
    main = unescape(response.text[response.text.index("<main"): response.text.index("</main>")])
    assert "<h1>This address asks for something the site cannot do</h1>" in main
    assert "Cannot sort table by no_such_column" in main  # Datasette's own message, kept
    assert '<a href="/">The home page</a>' in main and '<a href="/find-my-ward">Find my ward</a>' in main
