"""One way to write a name for searching, used by the build and by the site alike.

People type "St Helens" for the council "St. Helens", "Clacton on Sea" for
"Clacton-on-Sea", "Harbour and Victoria" for "Harbour & Victoria", "Moss Bay, Allerdale"
for a ward and its council, with or without accents and apostrophes. ``search_key``
writes both the stored names and what is typed the same way: lower case, letters and
digits only, '&' as 'and', 'saint' as 'st', every other mark a space, spaces single.
Typos are left to the search itself (the trigram index, see ``place_search``).
"""

from __future__ import annotations

import re
import unicodedata

_MARKS = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4.]")
_WORDS = {"saint": "st", "&": "and"}


def search_key(text: str) -> str:
    """``text`` as a search key: 'St. Helens' -> 'st helens', 'Bocking's Elm' -> 'bockings elm'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(character for character in decomposed if not unicodedata.combining(character)).lower()
    plain = _APOSTROPHES.sub("", plain.replace("&", " & "))
    words = [_WORDS.get(word, word) for word in plain.split()]
    return " ".join(_MARKS.sub(" ", " ".join(words)).split())
