"""The browser tests' page watcher (tests/support/browser.py): which failed requests it forgives.

Event by event, in every order Chromium may report them, without a browser: the rule is
pure bookkeeping. tests/test_browser.py shows the same in Chromium, with the race that made
CI red (a type-ahead suggestion cancelled by pressing Enter).
"""

from __future__ import annotations

import pytest

from support.browser import PageWatch


class FakeFrame:
    url = ""


class FakePage:
    """What PageWatch reads of a page: its main frame, and the handlers it registers."""

    def __init__(self) -> None:
        self.main_frame = FakeFrame()
        self.handlers: dict[str, object] = {}

    def on(self, event: str, handler) -> None:
        self.handlers[event] = handler

    def emit(self, event: str, value) -> None:
        self.handlers[event](value)


class FakeRequest:
    def __init__(self, url: str, frame: FakeFrame, navigation: bool = False) -> None:
        self.url, self.frame, self.navigation = url, frame, navigation
        self.failure = "net::ERR_ABORTED"

    def is_navigation_request(self) -> bool:
        return self.navigation


@pytest.mark.parametrize(
    ("events", "forgiven"),
    [
        # in flight before Enter, cancelled when the next page arrives
        (["suggest", "navigate", "fail suggest", "arrive"], True),
        (["suggest", "navigate", "arrive", "fail suggest"], True),
        # sent by the old page after Enter, while the next page is on its way
        (["navigate", "suggest", "fail suggest", "arrive"], True),
        (["navigate", "suggest", "arrive", "fail suggest"], True),
        # aborted by the page's own script: no navigation in sight
        (["suggest", "fail suggest"], False),
        # sent by the new page after it arrived, then aborted by it
        (["navigate", "arrive", "suggest", "fail suggest"], False),
        # a navigation that became a download leaves the page where it was
        (["navigate", "download", "suggest", "fail suggest"], False),
    ],
)
def test_which_aborted_requests_the_page_watcher_forgives(events, forgiven):
    """The rule, event by event in every order Chromium may report them: an aborted request is
    forgiven when a navigation of the main frame was under way when it started, or started after."""
    base = "http://127.0.0.1:1"
    page = FakePage()
    watch = PageWatch(base)
    watch.attach(page)
    suggest = FakeRequest(f"{base}/find-my-ward.json?q=dur", page.main_frame)
    download = type("Download", (), {"url": f"{base}/leftbehind.db"})()
    actions = {
        "suggest": lambda: page.emit("request", suggest),
        "navigate": lambda: page.emit("request", FakeRequest(f"{base}/find-my-ward?q=dur", page.main_frame, navigation=True)),
        "arrive": lambda: page.emit("framenavigated", page.main_frame),
        "download": lambda: page.emit("download", download),
        "fail suggest": lambda: page.emit("requestfailed", suggest),
    }
    for event in events:
        actions[event]()
    problems = watch.take()
    assert problems == ([] if forgiven else [f"request failed: {suggest.url} (net::ERR_ABORTED)"])
