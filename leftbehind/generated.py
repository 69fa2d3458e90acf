"""Files with parts written by code: rewrite them, or check that they are up to date."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(path: Path, current: str, generated: str, check: bool, how_to_update: str) -> int:
    """Write ``generated`` over ``current`` at ``path`` when they differ; with ``check``, only say
    that they differ. Returns the exit status: 1 when a checked file is out of date."""
    if generated == current:
        return 0
    if check:
        print(f"{path.name} is out of date: {how_to_update}", file=sys.stderr)
        return 1
    path.write_text(generated, encoding="utf-8")
    print(f"{path.name} updated", file=sys.stderr)
    return 0
