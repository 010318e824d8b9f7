"""Judging probes: (positive control, cross-tenant attempt[, stored row]) -> status and detail.

Pure functions, no database: the families run the statements and hand their `Attempt`s here. The
rules are the same everywhere:

- an attempt that reached another tenant (or another user) is a `leak` — judged by what the target
  stored when that was read back (a trigger or default that overwrote the attacker's value is no leak);
- otherwise the probe is conclusive only if its positive control (the same statement aimed at the
  member's own tenant) went through: a rejection means nothing when the member can do nothing at all;
- a probe with nothing to aim at, or whose row could not be built, is `inconclusive`, never `ok`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, Attempt

_WHAT = {
    "update": "changed {rows} row(s) of tenant {other}",
    "delete": "deleted {rows} row(s) of tenant {other}",
    "insert": "wrote a row keyed to tenant {other}",
    "move": "moved its own row to tenant {other}",
}


@dataclass(frozen=True)
class Judgement:
    status: str
    detail: str


def inconclusive(detail: str) -> Judgement:
    return Judgement(INCONCLUSIVE, detail)


def not_granted(role: str, why: str = "") -> Judgement:
    """An operation the role holds no privilege for is impossible for every tenant: settled by the grants."""
    return Judgement(OK, f"not granted to {role}" + (f": {why}" if why else ""))


def read(*, sees_own: bool, leaked: Sequence[str], leaked_rows: int | str, other: str | None) -> Judgement:
    """A member's SELECT: rows of tenants it does not belong to are a leak; otherwise it must see its own."""
    if leaked:
        shown = ", ".join(sorted(leaked)[:3])
        return Judgement(LEAK, f"saw {leaked_rows} row(s) of other tenants (e.g. {shown})")
    if not sees_own:
        return inconclusive("positive control failed: the member sees none of its own tenant's rows")
    if other is None:
        return inconclusive("no other tenant has rows here")
    return Judgement(OK, "saw its own rows, none of other tenants")


def read_denied(error: Attempt, *, granted: bool, role: str) -> Judgement:
    if not granted:
        return not_granted(role, str(error))
    return inconclusive(f"probe denied: {error}")


def write(op: str, control: Attempt, attempt: Attempt, other: str | None) -> Judgement:
    """UPDATE/DELETE of tenant `other`'s rows, INSERT of a row keyed to it, MOVE of an own row into it.

    For INSERT and MOVE `attempt.stored` is the tenant key the target stored: a trigger that re-keyed
    the row to the member's own tenant kept it in.
    """
    if attempt.touched:
        if op in ("insert", "move") and attempt.stored is not None and other not in attempt.stored:
            return Judgement(
                OK, f"{op} went through but the target stored tenant {_shown(attempt.stored)}, not {other}"
            )
        return Judgement(LEAK, _WHAT[op].format(rows=attempt.rows, other=other))
    if not control.touched:
        return inconclusive(f"positive control failed: on its own rows {control}")
    return Judgement(OK, attempt.how_rejected)


def spoof(op: str, column: str, control: Attempt, attempt: Attempt, outsider: str) -> Judgement:
    """INSERT (or UPDATE) of a row with a user column set to `outsider`: a leak only if the target stored it."""
    if attempt.touched:
        if attempt.stored is not None and outsider not in attempt.stored:
            return Judgement(
                OK, f"{column} = another user went through, but the target stored {column} = {_shown(attempt.stored)} "
                "(a trigger or default overwrote it)",
            )  # fmt: skip
        verb = "wrote a row with" if op == "spoof_insert" else "set its row's"
        unread = "" if attempt.stored is not None else " (the stored row could not be read back)"
        return Judgement(LEAK, f"{verb} {column} = another user ({outsider}){unread}")
    if not control.touched:
        return inconclusive(f"{column}: positive control failed: the member's own version of the row: {control}")
    return Judgement(OK, f"{column} = another user: {attempt.how_rejected}")


def blind(command: str, key: str, own: int, other: int, other_tenant: str | None) -> Judgement:
    """The UPDATE/DELETE policies replayed on copies of own and other rows (see replay.py)."""
    if other:
        pulls = f"; SET {key} = <own tenant> pulls them in" if command == "UPDATE" else ""
        return Judgement(
            LEAK,
            f"an unfiltered {command} (no WHERE, e.g. the API's {command} without a filter{pulls}) would reach "
            f"{other} sampled row(s) of tenant {other_tenant}: the {command} policies' USING accepts them "
            "(a filtered statement is saved only by the SELECT policies)",
        )
    if not own:
        return inconclusive(f"positive control failed: the {command} policies accept none of the member's own rows")
    return Judgement(OK, f"the {command} policies accept only its own rows")


def anon_read(seen: int | Attempt) -> Judgement:
    """The anonymous role reading a table that has rows (the control: the admin saw them)."""
    if isinstance(seen, Attempt):
        return Judgement(OK, f"read {seen.how_rejected}")
    return Judgement(LEAK if seen else OK, f"saw {seen} row(s)")


def anon_write(op: str, attempt: Attempt) -> Judgement:
    if attempt.touched:
        return Judgement(LEAK, "wrote a row" if op == "anon_insert" else f"touched {attempt.rows} row(s)")
    return Judgement(OK, attempt.how_rejected)


def _shown(values: tuple[str | None, ...]) -> str:
    return ", ".join("NULL" if v is None else v for v in values)
