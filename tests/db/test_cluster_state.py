"""The embedded cluster deletes only directories it created and, as root, changes no permission outside
the project's state dir: the server user's data lives in a directory of its own."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.local import cluster as cluster_module
from rollout_gate.local.cluster import MARKER, EmbeddedCluster, reachable_by_others, sweep_stale
from rollout_gate.run import RunContext

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as a system user only when started as root")


def modes(path: Path) -> dict[str, int]:
    return {str(p): stat.S_IMODE(p.stat().st_mode) for p in [path, *path.parents]}


def test_the_sweep_leaves_directories_it_did_not_create(tmp_path: Path) -> None:
    pg = tmp_path / "state" / "pg"
    notes = pg / "notes"
    notes.mkdir(parents=True)
    (notes / "keep.txt").write_text("mine")
    lookalike = pg / "20200101000000-abcdef"  # named and shaped like a run, owner gone, but not marked
    lookalike.mkdir()
    (lookalike / "owner.json").write_text(json.dumps({"pid": 999_999_999}))
    stale = pg / "20200101000000-fedcba"  # a killed run of ours: marked, owner gone
    stale.mkdir()
    (stale / MARKER).write_text(stale.name)
    (stale / "owner.json").write_text(json.dumps({"pid": 999_999_999}))

    assert sweep_stale(pg) == [stale.name]
    assert (notes / "keep.txt").read_text() == "mine"
    assert (lookalike / "owner.json").is_file()
    assert not stale.exists()


def test_a_run_directory_it_did_not_create_is_refused_not_replaced(tmp_path: Path) -> None:
    run = RunContext.new()
    cluster = EmbeddedCluster(tmp_path / "state", run.run_id, os.getpid())
    cluster.dir.mkdir(parents=True)
    (cluster.dir / "someone-elses").write_text("x")
    cluster.stop()
    assert (cluster.dir / "someone-elses").is_file()
    with pytest.raises(cluster_module.ClusterError, match="was not created by rollout-gate"):
        cluster.ensure_running()
    assert (cluster.dir / "someone-elses").is_file()


@as_root
def test_as_root_a_run_changes_no_permission_outside_the_state_dir(tmp_path: Path) -> None:
    # A project below a directory other users cannot enter (as under /root): the server user cannot
    # reach a data dir inside it, and making the parents world-listable is what the harness used to do.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    project = private / "project"
    project.mkdir()
    before = modes(project)
    run = RunContext.new()
    cluster = EmbeddedCluster(project / ".rollout", run.run_id, os.getpid())
    try:
        info = cluster.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        assert modes(project) == before
        assert cluster.data.is_symlink()
        server_dir = cluster.data.resolve().parent
        assert not server_dir.is_relative_to(project)
        assert server_dir.stat().st_uid == cluster_module.pwd.getpwnam(cluster_module.SYSTEM_USER).pw_uid
    finally:
        cluster.stop()
    assert not server_dir.exists()
    assert not cluster.dir.exists()
    assert modes(project) == before


def test_binaries_are_used_in_place_when_the_server_user_can_reach_them() -> None:
    binaries = cluster_module.bin_dir()
    if not reachable_by_others(binaries):
        pytest.skip("this checkout's wheel sits below a directory other users cannot enter")
    assert cluster_module._reachable_binaries(binaries) == binaries


def test_binaries_below_a_private_directory_are_copied_not_exposed(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    (hidden / "pginstall" / "bin").mkdir(parents=True)
    hidden.chmod(0o700)
    tool = hidden / "pginstall" / "bin" / "initdb"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o700)
    before = modes(hidden)
    copied = cluster_module._reachable_binaries(hidden / "pginstall" / "bin")
    try:
        assert modes(hidden) == before
        assert reachable_by_others(copied)
        assert stat.S_IMODE((copied / "initdb").stat().st_mode) & 0o044 == 0o044
        assert not copied.is_relative_to(tmp_path)
    finally:
        shutil.rmtree(copied.parent)


@pytest.fixture
def server_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Below /var/tmp, as in real use: as root the server user must be able to enter it.
    root = Path(tempfile.mkdtemp(prefix="rollout-gate-test-", dir="/var/tmp"))
    root.chmod(0o755)
    monkeypatch.setattr(cluster_module, "SERVER_ROOT", root)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_initdb_runs_once_and_each_run_gets_its_own_copy(tmp_path: Path, server_root: Path) -> None:
    first = EmbeddedCluster(tmp_path / "a", "20260101000000-aaaaaa", os.getpid())
    second = EmbeddedCluster(tmp_path / "b", "20260101000000-bbbbbb", os.getpid())
    try:
        one = first.ensure_running()
        (cache,) = (server_root / f"rollout-gate-{os.geteuid()}").glob("initdb-*")
        built = (cache / ".complete").stat().st_mtime_ns
        assert stat.S_IMODE((cache / "password").stat().st_mode) == 0o600
        two = second.ensure_running()
        assert list(cache.parent.glob("initdb-*")) == [cache]  # no second initdb
        assert (cache / ".complete").stat().st_mtime_ns == built
        assert first.data.resolve() != second.data.resolve()
        with psycopg.connect(one.dsn(), autocommit=True) as conn:
            conn.execute("create database only_in_first")
        with psycopg.connect(two.dsn(), autocommit=True) as conn:
            names = {r[0] for r in conn.execute("select datname from pg_database").fetchall()}
        assert "only_in_first" not in names and "postgres" in names
        # The cache itself is never started: a run writes only to its own copy.
        assert not (cache / "server" / "data" / "postmaster.pid").exists()
    finally:
        first.stop()
        second.stop()
    assert not first.dir.exists() and not second.dir.exists()
    assert (cache / ".complete").is_file()  # kept for the next run


def test_a_cache_that_was_not_finished_is_rebuilt_not_used(tmp_path: Path, server_root: Path) -> None:
    parent = server_root / f"rollout-gate-{os.geteuid()}"
    first = EmbeddedCluster(tmp_path / "a", "20260101000000-cccccc", os.getpid())
    first.ensure_running()
    first.stop()
    (cache,) = parent.glob("initdb-*")
    (cache / ".complete").unlink()  # as if its builder had died half-way
    shutil.rmtree(cache / "server" / "data" / "base")
    dead_build = parent / f"{cache.name}.building-999999999"
    dead_build.mkdir()
    second = EmbeddedCluster(tmp_path / "b", "20260101000000-dddddd", os.getpid())
    try:
        info = second.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        second.stop()
    assert (cache / ".complete").is_file() and (cache / "server" / "data" / "base").is_dir()
    assert not dead_build.exists()
