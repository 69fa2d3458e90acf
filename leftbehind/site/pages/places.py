"""Places by the names people use: wards, councils then and today, and neighbourhoods.

``place_search`` (leftbehind.db) lists every ward, council (2017 and 2024) and
neighbourhood (the House of Commons Library's MSOA names) with its name written as a
search key (``leftbehind/search_keys.py``: 'St. Helens' and 'St Helens' are one key, '&' is
'and', hyphens are spaces), in an FTS5 trigram index. A search asks the index first for the
names that contain what was typed; only when none does it asks for the names sharing most
of its trigrams, and keeps those that are close to it as a whole (a typo: 'Moss Bey',
'Middlesbrogh'). 'Moss Bay, Allerdale' is a name and the council (or place) it is in.
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher
from typing import Any

from leftbehind.search_keys import search_key
from leftbehind.site.pages.reading import DATABASE, fetch_rows

MAX_PLACES = 40  # names taken from the index for one search
MAX_TYPO_CANDIDATES = 200  # names sharing most trigrams, scored here
TYPO_MIN_SCORE = 0.75  # how close a name must be to what was typed (difflib's ratio)
TYPO_SURE_SCORE = 0.85  # a typo this close is taken before shortening the name
TYPO_BAND = 0.05  # names this close to the best one are kept with it
KIND_ORDER = {"council 2017": 0, "council 2024": 1, "neighbourhood": 2, "ward": 3}

PLACES_SQL = """
select id, kind, code, label, name_key, context_key from place_search
where rowid in (select rowid from place_search_fts where place_search_fts match :match)
  and (:context = '' or instr(context_key, :context) > 0 or instr(name_key, :context) > 0)
limit 2000
"""
SHORT_SQL = """
select id, kind, code, label, name_key, context_key from place_search
where (name_key = :key or name_key like :key || ' %')
  and (:context = '' or instr(context_key, :context) > 0)
limit 2000
"""
TYPO_SQL = """
select s.id, s.kind, s.code, s.label, s.name_key, s.context_key
from place_search_fts as f join place_search as s on s.rowid = f.rowid
where place_search_fts match :match
  and (:context = '' or instr(s.context_key, :context) > 0)
order by f.rank
limit {limit}
"""
NEIGHBOURHOOD_WARDS_SQL = """
select n.msoa_code, n.name, n.lad20_name, nw.population_share, w.ward_code, w.ward_name, w.lad_code, w.lad_name,
  w.region_code, w.region_name, w.left_behind_change, w.cni_rank
from neighbourhoods as n
join neighbourhood_wards as nw on nw.msoa_code = n.msoa_code
join wards as w on w.ward_code = nw.ward_code
where n.msoa_code in (select value from json_each(:codes))
order by nw.population_share desc, w.ward_name
"""


def query_keys(text: str) -> tuple[str, str]:
    """The name's key and the context's ('Moss Bay, Allerdale' -> 'moss bay', 'allerdale')."""
    name, _, context = text.partition(",")
    return search_key(name), search_key(context)


def trigrams(key: str) -> list[str]:
    """The key's trigrams as FTS5 strings, each once."""
    return list(dict.fromkeys(f'"{key[i:i + 3]}"' for i in range(len(key) - 2)))


def match_rank(key: str, name_key: str) -> int:
    """0 for the very name, 1 for a name that starts with it, 2 for a whole word of a name,
    3 for any other name that contains it."""
    if name_key == key:
        return 0
    if name_key.startswith(key + " "):
        return 1
    if f" {key} " in f" {name_key} ":
        return 2
    return 3


def closeness(key: str, name_key: str) -> float:
    """How close a name is to what was typed: difflib's ratio, against the whole name or its
    start ('middlesbrogh' is close to 'middlesbrough central' by its first word)."""
    whole = SequenceMatcher(None, key, name_key).ratio()
    start = SequenceMatcher(None, key, name_key[: len(key) + 1]).ratio()
    return max(whole, start * 0.98)


async def place_matches(datasette, text: str) -> dict[str, Any]:
    """The places whose names contain ``text`` (as search keys), the nearest first; when none
    does, those whose names are closest to it (``typo``), or failing that those containing
    its first words ('Clacton-on-Sea' finds the neighbourhoods named Clacton ...)."""
    key, context = query_keys(text)
    found: dict[str, Any] = {"key": key, "context": context, "typo": False, "places": []}
    if not key:
        return found
    db = datasette.get_database(DATABASE)
    if rows := await containing(db, key, context):
        found["places"] = rows
        return found
    close = await closest(db, key, context)
    if close and close[0][0] >= TYPO_SURE_SCORE:
        return {**found, "typo": True, "places": [row for _, row in close]}
    words = key.split()
    for end in range(len(words) - 1, 0, -1):
        shorter = " ".join(words[:end])
        if len(shorter) >= 4 and (rows := await containing(db, shorter, context)):
            return {**found, "places": rows, "shortened": shorter}
    return {**found, "typo": bool(close), "places": [row for _, row in close]}


async def containing(db, key: str, context: str) -> list[dict[str, Any]]:
    """The places whose names contain ``key``: the very name first, then names starting
    with it, then as a word, councils before neighbourhoods before wards."""
    if len(key) < 3:  # shorter than a trigram: the very name, or its first word
        rows = await fetch_rows(db, SHORT_SQL, {"key": key, "context": context})
    else:
        rows = await fetch_rows(db, PLACES_SQL, {"match": f'"{key}"', "context": context})
    rows.sort(key=lambda row: (match_rank(key, row["name_key"]), KIND_ORDER.get(row["kind"], 9), len(row["name_key"]), row["label"]))
    return rows[:MAX_PLACES]


async def closest(db, key: str, context: str) -> list[tuple[float, dict[str, Any]]]:
    """The names closest to ``key`` among those sharing most of its trigrams, with their
    closeness, the closest first; none below TYPO_MIN_SCORE."""
    grams = trigrams(key)
    if not grams:
        return []
    candidates = await fetch_rows(
        db, TYPO_SQL.format(limit=MAX_TYPO_CANDIDATES), {"match": " OR ".join(grams), "context": context}
    )
    scored = [(closeness(key, row["name_key"]), row) for row in candidates]
    scored = [(score, row) for score, row in scored if score >= TYPO_MIN_SCORE]
    if not scored:
        return []
    best = max(score for score, _ in scored)
    close = [(score, row) for score, row in scored if score >= best - TYPO_BAND]
    close.sort(key=lambda pair: (-round(pair[0], 2), KIND_ORDER.get(pair[1]["kind"], 9), pair[1]["label"]))
    return close[:MAX_PLACES]


async def neighbourhood_wards(db, codes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The wards that count each neighbourhood's people (the best-fit lookup of its LSOAs),
    most of its people first."""
    if not codes:
        return {}
    by_code: dict[str, list[dict[str, Any]]] = {}
    for row in await fetch_rows(db, NEIGHBOURHOOD_WARDS_SQL, {"codes": json.dumps(codes)}):
        by_code.setdefault(row["msoa_code"], []).append(row)
    return by_code
