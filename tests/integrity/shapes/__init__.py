"""Small tenancy schemas of our own, in the shapes real models take, on an embedded PostgreSQL.

`Shapes` holds a scope of the process's embedded server for a test module; `database(sql)` makes a fresh
database from a schema plus data (and a defect, when given) and returns its DSN; `model(dsn, tenancy)`
resolves the tenancy model from a `tenancy:` mapping as an environment file would write it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from rollout_gate.catalog import TenancyModel, qualify, read_catalog, resolve_tenancy
from rollout_gate.config.models import TenancyConfig
from tests.embedded import Databases, EmbeddedServer


@dataclass
class Shapes:
    scope: Databases

    def database(self, *scripts: str) -> str:
        return self.scope.database(*scripts, prefix="shape")


@contextmanager
def shapes_server(server: EmbeddedServer) -> Iterator[Shapes]:
    """A scope of the process's embedded server for one module: its databases are dropped when it ends."""
    with server.scope() as scope:
        yield Shapes(scope)


def model(conn: psycopg.Connection[Any], tenancy: dict[str, Any]) -> TenancyModel:
    """The tenancy model of `tenancy` (an environment file's `tenancy:` block) on the database of `conn`."""
    config = TenancyConfig.model_validate(tenancy)
    extra = [qualify(t) for t in (config.user_table, config.tenant_table, config.membership.table) if t]
    catalog = read_catalog(conn, config.schemas, extra_tables=extra)
    found = resolve_tenancy(config, catalog)
    if found.problems:
        print("tenancy problems:", *found.problems, sep="\n  ")
    return found


def lines(found: list[Any]) -> list[str]:
    """Violations as the suite prints them, their examples sorted (a check names the first few, in no order)."""
    return [str(type(v)(v.table, v.what, v.count, sorted(v.examples))) for v in found]
