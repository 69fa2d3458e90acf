"""The council and region pages' data is kept once found, for the few hundred real areas only.

Each council and region page costs a query over its wards and a summary of hundreds of them
(a region's about 900); the database is immutable while served, so each instance keeps a
found page's data and serves the same page from it. A code that finds nothing is never kept:
made-up codes cannot fill a worker's memory.
"""

from __future__ import annotations

from conftest import profile_datasette


async def test_found_areas_are_kept_and_made_up_codes_are_not(db_path, metadata, data):
    datasette = profile_datasette(db_path, metadata)
    region = data.execute("select region_code from regions order by region_code limit 1").fetchone()[0]
    council = data.execute("select lad_code from local_authorities order by lad_code limit 1").fetchone()[0]
    first = {}
    for path in (f"/leftbehind/regions/{region}", f"/leftbehind/local_authorities/{council}"):
        response = await datasette.client.get(path)
        assert response.status_code == 200
        first[path] = response.text
    for n in range(50):
        assert (await datasette.client.get(f"/leftbehind/regions/E1{n:07d}")).status_code == 404
        assert (await datasette.client.get(f"/leftbehind/local_authorities/X{n:08d}")).status_code == 404
    assert set(datasette._leftbehind_area_pages) == {("region", region), ("council", council)}
    for path, text in first.items():
        again = await datasette.client.get(path)
        assert again.status_code == 200 and again.text == text  # the kept data makes the same page
