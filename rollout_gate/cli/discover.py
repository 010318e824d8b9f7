"""`rollout-gate discover --dsn URL [--schema NAME ...]`: guess the tenancy block of an environment file.

Reads the catalog of the database at URL (read only: foreign keys to the user table, the table most
tenant tables reference, role and status columns with the values their enum or CHECK lists, SECURITY
DEFINER functions, how policies read the caller's identity, the API roles' grants) and prints a YAML
`tenancy:` block with the evidence for each guess as a comment. A key it cannot decide (two candidates
tie, or nothing fits) is printed commented out with the reason: set it yourself. The password never
appears in the output; leave it out of URL and use PGPASSWORD or ~/.pgpass to keep it out of `ps` too.
Exit codes: 0 every key decided, 1 some key left to you, 4 usage error or the database cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import typing
from collections.abc import Sequence
from typing import Any

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict

from rollout_gate import db
from rollout_gate.catalog.discover import REQUIRED_KEYS, Discovery, Guess, discover
from rollout_gate.catalog.read import application_schemas, granted_roles, read_catalog
from rollout_gate.config.models import TenancyConfig
from rollout_gate.config.secrets import Redactor
from rollout_gate.errors import RolloutGateError

USAGE_ERROR = 4
UNDECIDED = 1
_WIDTH = 116
# The block's keys in the order written, by section; evidence comments go above each.
_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("user_table", "user_key", "tenant_table", "tenant_table_key", "tenant_key")),
    ("membership", ("table", "user_column", "tenant_column", "role_column", "status_column", "active_value",
                    "owner_role")),
    ("personal_workspace", ("function", "owner_column")),
    ("invitations", ("table", "accept_function")),
    ("impersonation", ("mode", "setting", "setting_value", "role", "anon_role")),
)  # fmt: skip


class DiscoverError(RolloutGateError):
    """The database could not be reached or read: one line naming the host, never the password."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "discover",
        help="print the tenancy block of an environment file, guessed from a database's catalog",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dsn_options(parser, required=True)
    return parser


def add_dsn_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--dsn", required=required, metavar="URL", help="the database to read (never printed)")
    parser.add_argument(
        "--schema", action="append", dest="schemas", metavar="NAME",
        help="a schema of the application (repeatable; default: every schema with tables but the platform's)",
    )  # fmt: skip
    parser.add_argument("--connect-timeout", type=float, default=10.0, metavar="S", help="seconds (default 10)")


def run(args: argparse.Namespace) -> int:
    try:
        block, undecided = discover_block(args.dsn, args.schemas, connect_timeout=args.connect_timeout)
    except DiscoverError as exc:
        print(f"rollout-gate discover: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    print(block, end="")
    if undecided:
        print(f"rollout-gate discover: left for you to set: {', '.join(undecided)}", file=sys.stderr)
        return UNDECIDED
    return 0


def where(dsn: str) -> str:
    """`host:port/dbname` of a DSN (libpq's defaults where it leaves them out); no user, no password."""
    params = conninfo_to_dict(dsn)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    return f"{host}{port}/{params.get('dbname') or '(default database)'}"


def discover_block(
    dsn: str, schemas: Sequence[str] | None, *, connect_timeout: float = 10.0, source: bool = True
) -> tuple[str, list[str]]:
    """The YAML tenancy block of the database at `dsn`, and the keys it leaves for the user to set."""
    redact = Redactor([dsn])
    try:
        place = where(dsn)
    except psycopg.ProgrammingError:
        raise DiscoverError("--dsn is not a valid connection URL or key=value string") from None
    try:
        with db.connect(dsn, connect_timeout=connect_timeout, readonly=True) as conn:
            names = list(schemas) if schemas else application_schemas(conn)
            if not names:
                raise DiscoverError(f"{place} holds no tables outside the platform's schemas: pass --schema")
            catalog = read_catalog(conn, names, referenced=True)
            found = discover(catalog, grants=granted_roles(conn, names))
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise DiscoverError(redact(f"cannot connect to {place}: {reason}")) from None
    except (psycopg.Error, RolloutGateError) as exc:
        if isinstance(exc, DiscoverError):
            raise
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DiscoverError(redact(f"cannot read the catalog of {place}: {reason}")) from None
    header = (
        f"# Discovered by `rollout-gate discover` from the catalog of {place}.\n" if source
        else "# Discovered by `rollout-gate init --dsn` from the target's catalog.\n"
    )  # fmt: skip
    text = header + render(found, names)
    return redact(text), undecided(found)


def undecided(found: Discovery) -> list[str]:
    """Every tie, and each key the checks need that nothing in the catalog fits (not the keys that
    only wait for one of those)."""
    return [
        f"tenancy.{key}" for key, guess in found.guesses.items()
        if guess.ambiguous or (key in REQUIRED_KEYS and not guess.found and guess.looked)
    ]  # fmt: skip


def _supported(section: str, key: str) -> bool:
    """Whether this version's environment model reads `tenancy.<section>.<key>`."""
    fields: dict[str, Any] = TenancyConfig.model_fields
    if not section:
        return key in fields
    info = fields.get(section)
    annotation = getattr(info, "annotation", None)
    # `personal_workspace: none | {...}`: the mapping's model is one member of a union.
    models = [annotation, *typing.get_args(annotation)]
    return any(key in getattr(model, "model_fields", {}) for model in models)


def _scalar(value: Any) -> str:
    value = list(value) if isinstance(value, tuple) else value
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH - len(indent), initial_indent=f"{indent}# ", subsequent_indent=f"{indent}#   ")


def render(found: Discovery, schemas: Sequence[str]) -> str:
    """The `tenancy:` block: each key under the comment of its evidence; undecided keys commented out."""
    lines = [
        "# Each key follows its evidence. A key commented out could not be decided: set it yourself.",
        "tenancy:",
        f"  schemas: {_scalar(list(schemas))}",
    ]
    for section, keys in _LAYOUT:
        indent = "    " if section else "  "
        body: list[str] = []
        for key in keys:
            guess = found.guesses.get(f"{section}.{key}" if section else key)
            if guess is not None:
                body += _entry(guess, key, indent, supported=_supported(section, key))
        if section and body:
            # A section with no key decided is commented out too: `membership:` alone would read as null.
            supported = _supported(section, keys[0]) and any(not line.lstrip().startswith("#") for line in body)
            lines.append("  " + ("" if supported else "# ") + f"{section}:")
            if not _supported(section, keys[0]):
                lines += _comment("(not read by this version of rollout-gate: for reference only)", "  ")
        lines += body
        if not section and found.tenant_keys:
            lines += _tenant_keys(found)
        if section == "membership" and (roles := found.guesses.get("roles")) is not None and roles.found:
            lines += _entry(roles, "roles", "  ", supported=True)
    lines.append(
        "  # probes.ownership_allow / probes.definer_allow: review what your app does by design before listing any."
    )
    return "\n".join(lines) + "\n"


def _entry(guess: Guess, key: str, indent: str, *, supported: bool) -> list[str]:
    if guess.given:
        return []
    if key in ("setting", "setting_value", "active_value") and not guess.looked:
        return []  # not a key of this shape (no setting mode, no status column)
    lines = _comment(guess.evidence, indent)
    prefix = "" if supported else "# "
    if guess.found:
        lines.append(f"{indent}{prefix}{key}: {_scalar(guess.value)}")
    elif key == "status_column" and guess.looked and not guess.ambiguous:
        lines.append(f"{indent}{prefix}{key}: null")  # no status column: inactive memberships do not exist
    else:
        choices = " | ".join(guess.candidates) if guess.ambiguous else "?"
        lines.append(f"{indent}# {key}: {choices}")
    return lines


def _tenant_keys(found: Discovery) -> list[str]:
    supported = _supported("", "tenant_keys")
    lines = _comment("tables that reference the tenant table by another column than tenant_key", "  ")
    if not supported:
        lines += _comment("(per-table tenant keys are not read by this version of rollout-gate)", "  ")
    prefix = "" if supported else "# "
    lines.append(f"  {prefix}tenant_keys:")
    lines += [f"  {prefix}  {table}: {_scalar(column)}" for table, column in sorted(found.tenant_keys.items())]
    return lines
