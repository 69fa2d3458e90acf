"""leftbehind/site/permissions.py: the same permission answers as Datasette's, without its per-check work."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pytest
from conftest import profile_datasette

ACTORS = [None, {"id": "root"}, {"id": "someone"}]


def restricted(metadata: dict) -> dict:
    """The site's metadata with allow blocks: a table only root may see (named in another case),
    a view nobody may see, a canned query only root may run, SQL only for root."""
    changed = copy.deepcopy(metadata)
    database = changed["databases"]["leftbehind"]
    database["tables"]["Sources"] = {"allow": {"id": "root"}}
    database["tables"]["left_behind_neighbourhoods"]["allow"] = False
    database["queries"]["ward_changes"]["allow"] = {"id": "root"}
    database["allow_sql"] = {"id": "root"}
    return changed


def names_in_every_case(db_path: Path) -> list[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        names = [row[0] for row in connection.execute("select name from sqlite_master where type in ('table', 'view')")]
    return [spelling for name in names for spelling in (name, name.upper(), name.title())] + ["no_such_table"]


async def answers(datasette, db_path: Path) -> list:
    checks = [("view-table", ("leftbehind", name)) for name in names_in_every_case(db_path)]
    checks += [("view-table", ("no_such_database", "wards")), ("view-database", "leftbehind"), ("view-instance", None),
               ("execute-sql", "leftbehind"), ("view-query", ("leftbehind", "ward_changes"))]
    result = []
    for actor in ACTORS:
        for action, resource in checks:
            for default in (False, True, None):
                allowed = await datasette.permission_allowed(actor, action, resource=resource, default=default)
                result.append((repr(actor), action, resource, default, allowed))
    return result


@pytest.mark.parametrize("restrict", [False, True], ids=["site metadata", "with allow blocks"])
async def test_every_answer_is_datasettes(db_path, metadata, restrict):
    configured = restricted(metadata) if restrict else metadata
    ours = profile_datasette(db_path, configured)
    await ours.invoke_startup()  # installs the plugin's checks on this instance
    theirs = profile_datasette(db_path, configured)  # never started: Datasette's own checks
    assert ours.permission_allowed.__qualname__.startswith("looked_up_permission_allowed")
    assert theirs.permission_allowed.__qualname__ == "Datasette.permission_allowed"
    ours_answers = await answers(ours, db_path)
    assert ours_answers == await answers(theirs, db_path)
    assert await answers(ours, db_path) == ours_answers  # the second time, anonymous answers as kept
    await answers(theirs, db_path)
    # The checks are recorded for /-/permissions as Datasette records them.
    strip = lambda checks: [{k: v for k, v in c.items() if k != "when"} for c in checks]  # noqa: E731
    assert strip(ours._permission_checks) == strip(theirs._permission_checks)
    if restrict:  # the allow blocks took effect: something was refused
        assert any(allowed is False for *_, allowed in ours_answers)


async def test_new_metadata_is_honoured(db_path, metadata):
    datasette = profile_datasette(db_path, metadata)
    await datasette.invoke_startup()
    assert await datasette.permission_allowed(None, "view-table", ("leftbehind", "sources"), default=True) is True
    datasette._metadata_local = restricted(metadata)
    assert await datasette.permission_allowed(None, "view-table", ("leftbehind", "sources"), default=True) is False
    response = await datasette.client.get("/leftbehind/sources")
    assert response.status_code == 403


async def test_a_check_runs_no_query_and_copies_the_metadata_once(db_path, metadata, monkeypatch):
    datasette = profile_datasette(db_path, metadata)
    await datasette.invoke_startup()
    db = datasette.get_database("leftbehind")
    queries, copies = [], []
    execute, deepcopy = db.execute, copy.deepcopy
    monkeypatch.setattr(db, "execute", lambda *args, **kwargs: queries.append(args) or execute(*args, **kwargs))
    monkeypatch.setattr(copy, "deepcopy", lambda *args, **kwargs: copies.append(1) or deepcopy(*args, **kwargs))
    await datasette.permission_allowed(None, "view-table", ("leftbehind", "wards"))
    first = len(copies)
    assert first > 0  # Datasette's own computation ran once
    for _ in range(3):
        await datasette.permission_allowed(None, "view-table", ("leftbehind", "WARDS"))
    assert queries == []
    assert len(copies) == first


async def test_pages_are_answered_as_before(datasette):
    """Through the whole site: the home page lists the tables, a table page and a hidden table answer."""
    home = await datasette.client.get("/leftbehind")
    assert home.status_code == 200
    assert 'href="/leftbehind/wards"' in home.text
    assert (await datasette.client.get("/leftbehind/wards.json?_size=1")).status_code == 200
    assert (await datasette.client.get("/leftbehind/no_such_table")).status_code == 404


async def test_another_plugins_answer_is_asked_every_time(db_path, metadata):
    """With a plugin of its own answering permission checks, nothing is kept: it may answer differently."""
    from datasette import hookimpl
    from datasette.plugins import pm

    class Closing:
        closed = False

        @hookimpl
        def permission_allowed(self, action):
            return False if self.closed and action == "view-instance" else None

    plugin = Closing()
    datasette = profile_datasette(db_path, metadata)
    await datasette.invoke_startup()
    assert await datasette.permission_allowed(None, "view-instance", default=True) is True
    pm.register(plugin, "test-closing")
    try:
        assert await datasette.permission_allowed(None, "view-instance", default=True) is True
        plugin.closed = True
        assert await datasette.permission_allowed(None, "view-instance", default=True) is False
        assert (await datasette.client.get("/")).status_code == 403
    finally:
        pm.unregister(plugin)
    assert await datasette.permission_allowed(None, "view-instance", default=True) is True
