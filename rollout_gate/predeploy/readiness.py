"""Readiness: configuration present, server compatible, flags as expected, connections to spare.

Each function returns a list of problems (empty when ready). Secrets are only ever named,
never echoed: a missing variable is reported by its name, a flag by its path.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from rollout_gate.errors import HarnessError
from rollout_gate.predeploy import sqltext
from rollout_gate.predeploy.config import FlagsConfig

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "=": operator.eq,
}  # fmt: skip
_COMPARISON = re.compile(r"^\s*(>=|<=|==|=|>|<)?\s*(\d+(?:\.\d+)*)\s*$")
_CREATE_EXTENSION = re.compile(r"^create\s+extension\s+(?:if\s+not\s+exists\s+)?(" + sqltext.IDENT + ")", re.I)


def missing_variables(required: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """Names of required variables that are unset or empty (names only: values may be secrets)."""
    return [name for name in required if not environ.get(name, "").strip()]


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def version_matches(version: str, spec: str) -> bool:
    """`18.6` against `>=14, <19` (a bare number means ==, compared on the given parts only)."""
    have = version_tuple(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = _COMPARISON.match(clause)
        if not m:
            raise ValueError(f"invalid version comparison {clause!r} (e.g. '>=14, <19')")
        want = version_tuple(m.group(2))
        if not _OPS[m.group(1) or "=="](have[: len(want)], want):
            return False
    return True


@dataclass(frozen=True)
class ServerFacts:
    version: str
    extensions: dict[str, str]  # installed: name -> version
    available: set[str]  # installable on this server
    max_connections: int
    reserved: int
    in_use: int

    @property
    def free(self) -> int:
        return self.max_connections - self.reserved - self.in_use


def server_facts(conn: psycopg.Connection[Any]) -> ServerFacts:
    version = str(conn.execute("show server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    extensions = dict(conn.execute("select extname, extversion from pg_extension").fetchall())
    available = {r[0] for r in conn.execute("select name from pg_available_extensions").fetchall()}
    settings = dict(
        conn.execute(
            "select name, setting::int from pg_settings "
            "where name in ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
        ).fetchall()
    )
    in_use = conn.execute("select count(*) from pg_stat_activity where backend_type = 'client backend'").fetchone()
    return ServerFacts(
        version=version,
        extensions={str(k): str(v) for k, v in extensions.items()},
        available=available,
        max_connections=int(settings.get("max_connections", 0)),
        reserved=int(settings.get("superuser_reserved_connections", 0)) + int(settings.get("reserved_connections", 0)),
        in_use=int(in_use[0]) if in_use else 0,
    )


def server_problems(
    facts: ServerFacts, *, versions: str, required_extensions: Iterable[str], created_by_set: Iterable[str] = ()
) -> list[str]:
    problems = []
    if not version_matches(facts.version, versions):
        problems.append(f"server version {facts.version} is outside {versions}")
    for requirement in required_extensions:
        m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*(.*)$", requirement)
        name, spec = (m.group(1), m.group(2)) if m else (requirement, "")
        if name not in facts.extensions:
            problems.append(f"extension {name} is not installed")
        elif spec and not version_matches(facts.extensions[name], spec):
            problems.append(f"extension {name} {facts.extensions[name]} is outside {spec.strip()}")
    for name in sorted(set(created_by_set)):
        if name not in facts.extensions and name not in facts.available:
            problems.append(f"the migration set creates extension {name}, which this server cannot install")
    return problems


def extensions_created(files: Iterable[Path]) -> set[str]:
    """Extensions a migration set creates (`create extension [if not exists] name`)."""
    found = set()
    for path in files:
        for stmt in sqltext.split_statements(path.read_text(encoding="utf-8")):
            if m := _CREATE_EXTENSION.match(stmt.code):
                found.add(m.group(1).strip('"'))
    return found


def connection_problems(facts: ServerFacts, *, min_free: int, min_free_ratio: float) -> list[str]:
    usable = facts.max_connections - facts.reserved
    usage = f"{facts.in_use} of {usable} usable connections in use (max_connections {facts.max_connections})"
    problems = []
    if facts.free < min_free:
        problems.append(f"{facts.free} connections free, at least {min_free} needed: {usage}")
    if usable > 0 and facts.free / usable < min_free_ratio:
        problems.append(f"{facts.free / usable:.0%} of connections free, at least {min_free_ratio:.0%} needed: {usage}")
    return problems


class FlagsUnavailable(HarnessError):
    """The flag source could not be read; one line, no header values."""


def read_flags(config: FlagsConfig, root: Path) -> Any:
    """The flag document, from the file or the HTTP endpoint the environment names."""
    if config.file:
        path = Path(config.file) if Path(config.file).is_absolute() else root / config.file
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FlagsUnavailable(f"flags file {path}: {exc.strerror or type(exc).__name__}") from None
        except json.JSONDecodeError as exc:
            raise FlagsUnavailable(f"flags file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not config.url:
        raise FlagsUnavailable("no flag source configured (url or file)")
    headers = {config.auth_header_name: config.auth_header.get_secret_value()} if config.auth_header else {}
    try:
        response = httpx.get(config.url, headers=headers, timeout=config.timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise FlagsUnavailable(f"flags endpoint unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise FlagsUnavailable(f"flags endpoint answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise FlagsUnavailable("flags endpoint did not answer JSON") from None


_MISSING = object()


def flag_problems(document: Any, expected: Mapping[str, Any]) -> list[str]:
    problems = []
    for path, want in sorted(expected.items()):
        have = lookup(document, path)
        if have is _MISSING:
            problems.append(f"{path}: missing (expected {json.dumps(want)})")
        elif have != want or (type(have) is not type(want) and not _same_number(have, want)):
            problems.append(f"{path}: {json.dumps(have)}, expected {json.dumps(want)}")
    return problems


def lookup(document: Any, dotted: str) -> Any:
    """`features.multi_tenant` in nested objects; a key that itself holds dots is matched whole first."""
    if isinstance(document, dict) and dotted in document:
        return document[dotted]
    head, _, rest = dotted.partition(".")
    if not rest or not isinstance(document, dict) or head not in document:
        return _MISSING
    return lookup(document[head], rest)


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool)
