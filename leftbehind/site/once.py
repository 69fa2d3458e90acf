"""What the site reads once per Datasette instance, kept while every database it serves is immutable.

The served databases never change under a running instance (``--immutable``), so the site's
facts, schema, look-ups, sitemap and the people's pages' shared data are computed once and
kept on the instance. With a mutable database (a development copy) they are read again on
every call, so what a page says is never older than the file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


def immutable(datasette) -> bool:
    """Whether every database the instance serves (not Datasette's own ``_internal``) is immutable."""
    return all(db.is_mutable is False for name, db in datasette.databases.items() if not name.startswith("_"))


async def once(datasette, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
    """``compute()``'s result, kept on the Datasette instance under ``key`` when its databases are immutable."""
    store = getattr(datasette, "_leftbehind_once", None)
    if store is None:
        store = datasette._leftbehind_once = {}
    if key in store:
        return store[key]
    value = await compute()
    if immutable(datasette):
        store[key] = value
    return value
