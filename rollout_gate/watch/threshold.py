"""Watch thresholds: `<OP> <number>`, the condition a healthy value satisfies."""

from __future__ import annotations

import re

_THRESHOLD = re.compile(r"^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


def parse_threshold(text: str) -> tuple[str, float]:
    """`<= 0.10` -> ("<=", 0.1): the condition a healthy value satisfies."""
    match = _THRESHOLD.match(text)
    if not match:
        raise ValueError(f"threshold {text!r}: write it as '<OP> <number>' with OP one of < <= > >=")
    return match.group(1), float(match.group(2))
