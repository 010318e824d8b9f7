"""The rows of a CSV file the environment names (users, tokens, tenant users): one reader, one-line errors."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def read_rows(path: Path, key: str, *, required: Sequence[str] = (), header: str = "") -> list[dict[str, str]]:
    """The rows of `path` (a header line first). An unreadable file, or one whose header lacks a `required`
    column, is a ValueError of one line naming `key` and the path (never a row's content)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                hint = f" (header line: {header})" if header else ""
                raise ValueError(f"{key}: {path} has no {', '.join(missing)} column(s){hint}")
            return list(reader)
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {path}: {exc.strerror}") from None
