"""Sampling mode for very large tables (`integrity.sampling`): what a key-hash sample proves, and when a
baseline and a configuration do not describe the same sample.

A sampled table keeps the rows whose key hash falls in a fixed fraction `f` of the hash space (see
`fingerprint.SAMPLE_SCALE`): the same rows at baseline and compare, each row in it with probability `f`
whatever its key, as far as the hash is random. Of `k` rows lost (or changed) by the migration, the sample
misses all with probability (1 - f)^k, so a loss of at least `rows_for(f)` rows is seen with probability
at least 99%; a smaller one can pass unseen. A key-range sample would be cheaper to read with an index
but states no such bound (a migration loses rows by key range as easily as anywhere), so it is not offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rollout_gate.integrity.config import IntegritySampling
from rollout_gate.integrity.fingerprint import SAMPLE_SCALE, BaselineError, Snapshot, sample_threshold
from rollout_gate.target import TargetError

CONFIDENCE = 0.99
RULE = "sampled"  # the finding's rule on a sampled table (gate.json `criteria[].findings`)


class SampleMismatch(BaselineError, TargetError):
    """The baseline's samples are not the ones `integrity.sampling` asks for (or it names no such table):
    one line. A baseline error to the checks, a target error where the local rehearsal takes the baseline."""


def rows_for(fraction: float, confidence: float = CONFIDENCE) -> int:
    """The fewest lost rows a `fraction` sample sees with probability >= `confidence`: the least k with
    (1 - fraction)^k <= 1 - confidence."""
    if fraction >= 1:
        return 1
    k = max(1, math.ceil(math.log(1 - confidence) / math.log1p(-fraction)))
    while k > 1 and (1 - fraction) ** (k - 1) <= 1 - confidence:  # float rounding: keep the least such k
        k -= 1
    while (1 - fraction) ** k > 1 - confidence:
        k += 1
    return k


def percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def confidence_line(table: str, sample: int, rows_sampled: int | None = None) -> str:
    """What the sample of `table` (a stored threshold) proves, in one line."""
    fraction = sample / SAMPLE_SCALE
    fingerprinted = f" ({rows_sampled:,} rows fingerprinted at baseline)" if rows_sampled is not None else ""
    return (
        f"{table}: a {percent(fraction)} sample by key hash{fingerprinted}: a loss of >= {rows_for(fraction):,} "
        f"rows would be seen with probability >= {percent(CONFIDENCE)} (P(miss all of k lost rows) = "
        f"(1 - {fraction:.4g})^k; a single lost or changed row is seen with probability {percent(fraction)})"
    )


def check_baseline(baseline: Snapshot, sampling: IntegritySampling, tables: Iterable[str] | None = None) -> None:
    """Raise `SampleMismatch` unless every baseline table (of `tables`) was fingerprinted with the sample
    `sampling` asks for now, and every table `sampling` names is in the baseline."""
    names = sorted(baseline.tables if tables is None else tables)
    for name in names:
        fp = baseline.tables.get(name)
        if fp is None:
            continue
        fraction = sampling.fraction(name)
        wanted = None if fraction is None else sample_threshold(fraction)
        if fp.sample != wanted:
            raise SampleMismatch(
                f"integrity.sampling does not match the baseline: {name} was {_how(fp.sample)} at baseline, "
                f"integrity.sampling asks for {_how(wanted)}; take the baseline again"
            )
    unknown = sorted(set(sampling.tables) - set(baseline.tables))
    if unknown:
        raise SampleMismatch(
            f"integrity.sampling.tables names {', '.join(unknown)}, not in the baseline; "
            "correct the name or take the baseline again"
        )


def _how(sample: int | None) -> str:
    return "fingerprinted in full" if sample is None else f"sampled at {percent(sample / SAMPLE_SCALE)}"
