"""Client-tool failures an operator can act on, from what the tools really print."""

from __future__ import annotations

from rollout_gate.predeploy.pgtools import _last_error

# pg_dump's own words (src/bin/pg_dump/pg_backup_db.c) when it is older than the server.
VERSION_MISMATCH = (
    "pg_dump: error: aborting because of server version mismatch\n"
    "pg_dump: detail: server version: 18.1; pg_dump version: 15.14 (Debian 15.14-0+deb12u1)\n"
)


def test_a_client_older_than_the_server_names_the_version_to_install() -> None:
    message = _last_error(VERSION_MISMATCH)
    assert message == (
        "pg_dump 15 cannot work with server 18: set predeploy.pg_bin_dir to the bin directory of a "
        "PostgreSQL 18 (or newer) client"
    )


def test_other_errors_keep_their_first_line() -> None:
    assert _last_error("pg_dump: error: connection to server failed: FATAL:  no pg_hba.conf entry\n") == (
        "error: connection to server failed: FATAL:  no pg_hba.conf entry"
    )
