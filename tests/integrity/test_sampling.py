"""Sampling mode (`integrity.sampling`) on a real embedded PostgreSQL: a key-hash sample fingerprinted the
same way at baseline and compare, its confidence stated with the right numbers, a lost range inside the
sample caught (and a row outside it, honestly, not), an unsampled table still checked in full beside a
sampled one, a mismatched baseline refused in one line, and, through the gate on a team's own schema
(tests/isolation/accounts_model), a loss in the sample warning-level by default and NO-GO only when the
team declares `blocking: true`."""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from rollout_gate.config.models import Environment, IntegrityConfig, TenancyConfig
from rollout_gate.integrity.baseline import capture
from rollout_gate.integrity.compare import BLOCKING, SAMPLED, compare_for, compare_parallel
from rollout_gate.integrity.config import IntegritySampling
from rollout_gate.integrity.fingerprint import SAMPLE_SCALE, Snapshot, sample_threshold
from rollout_gate.integrity.plan import TableEstimate
from rollout_gate.integrity.sampling import SampleMismatch, check_baseline, rows_for
from rollout_gate.local.cluster import ClusterInfo
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

ROWS = 100_000
TABLES = f"""
drop schema if exists s cascade;
create schema s;
create table s.events as select g::bigint as id, g % 31 as kind, 'event ' || g as note
    from generate_series(1, {ROWS}) g;
alter table s.events add primary key (id);
create table s.small as select g::bigint as id, 'row ' || g as note from generate_series(1, 2000) g;
alter table s.small add primary key (id);
analyze s.events;
analyze s.small;
"""


def in_sample(fraction: float) -> str:
    """The rows of s.events in its key-hash sample, in the harness's own terms (a bigint key)."""
    return f"((hashint8extended(id, 0) >> 32) & 4294967295) < {sample_threshold(fraction)}"


@pytest.fixture(scope="module")
def server(embedded_server: EmbeddedServer) -> Iterator[ClusterInfo]:
    with embedded_server.scope() as scope:
        scope.database(name="sampling_test")
        yield scope.info


@pytest.fixture
def dsn(server: ClusterInfo) -> Iterator[str]:
    dsn = server.dsn("sampling_test")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLES)  # type: ignore[arg-type]
    yield dsn


def env_with(dsn: str, sampling: IntegritySampling) -> Environment:
    return Environment(
        name="sampling", target={"database_url": dsn}, tenancy=TenancyConfig(schemas=("s",)),
        integrity=IntegrityConfig(sampling=sampling),
    )  # fmt: skip


def baseline(dsn: str, path: Path, sampling: IntegritySampling, printed: list[str] | None = None) -> Snapshot:
    return capture(dsn, ["s"], path, sampling=sampling, report=None if printed is None else printed.append)


def test_the_confidence_bound_is_the_least_k_with_a_miss_probability_at_most_one_percent() -> None:
    for fraction in (0.5, 0.1, 0.01, 0.001):
        k = rows_for(fraction)
        assert (1 - fraction) ** k <= 0.01 < (1 - fraction) ** (k - 1), fraction
    assert rows_for(0.01) == 459 and rows_for(0.1) == 44 and rows_for(0.5) == 7
    assert math.isclose(sample_threshold(0.01) / SAMPLE_SCALE, 0.01, rel_tol=1e-8)


def test_a_lost_range_inside_the_sample_is_caught_and_the_confidence_is_printed(dsn: str, tmp_path: Path) -> None:
    sampling = IntegritySampling(tables={"s.events": 0.01})
    printed: list[str] = []
    snap = baseline(dsn, tmp_path / "b.json", sampling, printed)
    sampled = snap.tables["s.events"]
    assert sampled.sample == sample_threshold(0.01)
    with psycopg.connect(dsn) as conn:
        in_it = conn.execute(f"select count(*) from s.events where {in_sample(0.01)}").fetchone()
    # The sample is the hash's 1%: the rows the baseline fingerprinted are exactly those, about 1,000.
    assert in_it is not None and sampled.rows == in_it[0] and 800 < sampled.rows < 1200
    assert snap.tables["s.small"].sample is None and snap.tables["s.small"].rows == 2000
    line = next(p for p in printed if p.startswith("s.events: a 1% sample by key hash"))
    assert "a loss of >= 459 rows would be seen with probability >= 99%" in line, printed
    assert "(1 - 0.01)^k" in line and "a single lost or changed row is seen with probability 1%" in line
    plan = printed[0]
    assert "s.events:" in plan and "sampled: 1% by key hash; still reads every row" in plan, plan

    with psycopg.connect(dsn, autocommit=True) as conn:
        lost = conn.execute(
            f"delete from s.events where id between 40001 and 42000 and {in_sample(0.01)} returning id"
        ).fetchall()
        conn.execute("delete from s.events where id between 40001 and 42000")  # and the rest of the range
    assert lost, "the range holds sampled rows"
    env = env_with(dsn, sampling)
    shown: list[str] = []
    diffs = compare_for(env, dsn, snap, part=SAMPLED, report=shown.append)
    assert [d.table for d in diffs] == ["s.events"]
    text = str(diffs[0])
    assert f"{sampled.rows} rows before, {sampled.rows - len(lost)} after (-{len(lost)})" in text, text
    assert "lost " in text and "key-hash sample of the table was compared" in text, text
    # Every key named is a sampled row that is gone (a bucket holding two of them is counted, not guessed).
    named = {int(r.key.removeprefix("id=")) for r in diffs[0].rows if r.kind == "lost"}
    assert named and named <= {row[0] for row in lost}
    assert all(r.kind == "lost" for r in diffs[0].rows)
    assert any("a loss of >= 459 rows" in s for s in shown), shown
    # Not blocking: the blocking part compares only s.small, which is intact.
    assert compare_for(env, dsn, snap, part=BLOCKING, report=None) == []


def test_a_row_outside_the_sample_is_not_seen_which_is_what_the_bound_says(dsn: str, tmp_path: Path) -> None:
    sampling = IntegritySampling(tables={"s.events": 0.01})
    snap = baseline(dsn, tmp_path / "b.json", sampling)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"delete from s.events where id in (select id from s.events where not {in_sample(0.01)} limit 3)")
    assert compare_for(env_with(dsn, sampling), dsn, snap, part=SAMPLED, report=None) == []


def test_an_unsampled_table_is_still_checked_in_full_next_to_a_sampled_one(dsn: str, tmp_path: Path) -> None:
    sampling = IntegritySampling(tables={"s.events": 0.01})
    snap = baseline(dsn, tmp_path / "b.json", sampling)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from s.small where id = 1234")
        conn.execute("update s.small set note = 'changed' where id = 77")
    env = env_with(dsn, sampling)
    diffs = compare_for(env, dsn, snap, part=BLOCKING, report=None)
    assert [d.table for d in diffs] == ["s.small"]
    text = str(diffs[0])
    assert "2000 rows before, 1999 after (-1)" in text and "lost 1: id=1234" in text and "changed 1: id=77" in text
    assert "sample" not in text, text
    assert compare_for(env, dsn, snap, part=SAMPLED, report=None) == []


def test_declared_blocking_the_sampled_table_feeds_the_blocking_part(dsn: str, tmp_path: Path) -> None:
    sampling = IntegritySampling(tables={"s.events": 0.05}, blocking=True)
    snap = baseline(dsn, tmp_path / "b.json", sampling)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"delete from s.events where id in (select id from s.events where {in_sample(0.05)} limit 2)")
    env = env_with(dsn, sampling)
    assert compare_for(env, dsn, snap, part=SAMPLED, report=None) == []
    diffs = compare_for(env, dsn, snap, part=BLOCKING, report=None)
    assert [d.table for d in diffs] == ["s.events"] and "lost 2: id=" in str(diffs[0])


@pytest.mark.parametrize(
    ("taken", "now", "said"),
    [
        (None, 0.01, "s.events was fingerprinted in full at baseline, integrity.sampling asks for sampled at 1%"),
        (0.01, None, "s.events was sampled at 1% at baseline, integrity.sampling asks for fingerprinted in full"),
        (0.01, 0.02, "s.events was sampled at 1% at baseline, integrity.sampling asks for sampled at 2%"),
    ],
)
def test_a_baseline_of_another_sample_is_refused_in_one_line(
    dsn: str, tmp_path: Path, taken: float | None, now: float | None, said: str
) -> None:
    snap = baseline(dsn, tmp_path / "b.json", IntegritySampling(tables={"s.events": taken} if taken else {}))
    env = env_with(dsn, IntegritySampling(tables={"s.events": now} if now else {}))
    for part in (BLOCKING, SAMPLED):  # whichever check runs, before anything is read
        with pytest.raises(SampleMismatch) as refused:
            compare_for(env, dsn, snap, part=part, report=None)
        message = str(refused.value)
        assert said in message and message.endswith("take the baseline again") and "\n" not in message
    # Loaded back from the file, the sample is the same (the refusal is not an artefact of memory).
    check_baseline(Snapshot.load(tmp_path / "b.json"), IntegritySampling(tables={"s.events": taken} if taken else {}))


def test_a_sampled_table_that_does_not_exist_is_refused_at_baseline(dsn: str, tmp_path: Path) -> None:
    with pytest.raises(SampleMismatch, match=r"integrity.sampling.tables names s.evnts: not a table the baseline"):
        baseline(dsn, tmp_path / "b.json", IntegritySampling(tables={"s.evnts": 0.01}))
    assert not (tmp_path / "b.json").exists()


def test_the_plan_scales_the_sampled_scan_and_says_it_still_reads_the_table(dsn: str) -> None:
    full, sampled = TableEstimate("s.events", ROWS, 0, 1), TableEstimate("s.events", ROWS, 0, 1, 0.01)
    assert sampled.cost_share < 1 == full.cost_share
    assert TableEstimate("s.events", ROWS, 0, 1, 0.1).cost_share > sampled.cost_share


def test_compare_parallel_without_a_config_compares_the_baseline_s_own_sample(dsn: str, tmp_path: Path) -> None:
    snap = baseline(dsn, tmp_path / "b.json", IntegritySampling(tables={"s.events": 0.01}))
    with psycopg.connect(dsn, autocommit=True) as conn:
        one = f"select id from s.events where {in_sample(0.01)} limit 1"
        conn.execute(f"update s.events set note = 'x' where id in ({one})")
    diffs = compare_parallel(snap, dsn, ["s"], report=None)
    assert [d.table for d in diffs] == ["s.events"] and "changed 1: id=" in str(diffs[0])


# ---- through the gate, on a team's own schema -------------------------------------------------------------

MODEL = ROOT / "tests" / "isolation" / "accounts_model"
LINES = "app.invoice_lines"
FRACTION = 0.25


def _harness(dsn: str, env_file: Path, base: Path, reports: Path, roles: tuple[str, str], *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(ACCOUNTS_DSN=dsn, ACCOUNTS_MEMBER_ROLE=roles[0], ACCOUNTS_ANON_ROLE=roles[1])
    argv = [
        sys.executable, "-m", "pytest", f"--env={env_file}", f"--report-dir={reports}", f"--baseline={base}",
        "-p", "no:cacheprovider", "-q", "-rfE", *args,
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return proc.returncode, proc.stdout + proc.stderr, gate


def _env_file(folder: Path, sampling: dict[str, Any] | None) -> Path:
    data = yaml.safe_load((MODEL / "accounts.yaml").read_text())
    if sampling is not None:
        data["integrity"] = {"sampling": sampling}
    path = folder / "environments" / f"accounts-{secrets.token_hex(2)}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def _sql(name: str, roles: tuple[str, str]) -> str:
    text = (MODEL / name).read_text()
    return re.sub(r"(?<!:):(member|anon)\b", lambda m: f'"{roles[0] if m.group(1) == "member" else roles[1]}"', text)


def test_through_the_gate_a_sampled_loss_warns_by_default_and_is_no_go_when_declared_blocking(
    server: ClusterInfo, tmp_path: Path
) -> None:
    suffix = secrets.token_hex(3)
    roles = (f"samp_member_{suffix}", f"samp_anon_{suffix}")
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for role in roles:
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(f"acct_{suffix}")))
    dsn = server.dsn(f"acct_{suffix}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_sql("schema.sql", roles))  # type: ignore[arg-type]
        conn.execute(_sql("data.sql", roles))  # type: ignore[arg-type]
    sampled = _env_file(tmp_path, {"tables": {LINES: FRACTION}})
    blocking = _env_file(tmp_path, {"tables": {LINES: FRACTION}, "blocking": True})
    full = _env_file(tmp_path, None)
    base = tmp_path / "baseline.json"
    code, out, gate = _harness(
        dsn, sampled, base, tmp_path / "pre", roles, "--phase=pre-deploy", "-rP", "suites/predeploy/test_baseline.py"
    )
    assert code == 0 and gate["verdict"] == "GO", out
    assert "app.invoice_lines: a 25% sample by key hash" in out and "a loss of >= 17 rows" in out, out
    assert Snapshot.load(base).tables[LINES].sample == sample_threshold(FRACTION)
    assert Snapshot.load(base).tables["app.invoices"].sample is None
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_sql("migration.sql", roles))  # type: ignore[arg-type]
        # The defect: the migration loses three invoice lines, in the sample.
        conn.execute(
            f"delete from {LINES} where id in (select id from {LINES} where "
            f"((hashint8extended(id, 0) >> 32) & 4294967295) < {sample_threshold(FRACTION)} order by id limit 3)"
        )
    check = ("--phase=post-migration", "suites/data_integrity/test_no_data_lost.py")

    # Selected by its suite marker like every integrity check (`data_integrity` still leaves it out: GO).
    code, out, gate = _harness(dsn, sampled, base, tmp_path / "warn", roles, *check, "-m", "integrity or isolation")
    by_id = {c["id"]: c for c in gate["criteria"]}
    assert code == 0 and gate["verdict"] == "GO", out
    assert by_id["zero_data_loss"]["status"] == "pass", out
    loss = by_id["zero_data_loss_sampled"]
    assert loss["status"] == "warn" and loss["action"] == "warn", loss
    assert "failed: AssertionError: data changed" in loss["reason"], loss
    assert any(w.startswith("zero_data_loss_sampled: warn") for w in gate["warnings"]), gate["warnings"]
    finding = next(f for f in loss["findings"] if f["name"] == LINES)
    assert finding["rule"] == "sampled" and "a 25% sample by key hash" in finding["detail"], loss["findings"]
    assert "lost 3: id=" in out and "key-hash sample of the table was compared" in out, out

    code, out, gate = _harness(dsn, blocking, base, tmp_path / "block", roles, *check)
    by_id = {c["id"]: c for c in gate["criteria"]}
    assert code == 1 and gate["verdict"] == "NO_GO", out
    assert by_id["zero_data_loss"]["status"] == "fail" and by_id["zero_data_loss"]["action"] == "no_go", out
    assert any(f["name"] == LINES and f["rule"] == "sampled" for f in by_id["zero_data_loss"]["findings"])
    assert by_id["zero_data_loss_sampled"]["status"] not in ("warn", "fail"), by_id["zero_data_loss_sampled"]

    # The same baseline against a configuration without sampling: refused in one line, never GO.
    code, out, gate = _harness(dsn, full, base, tmp_path / "mismatch", roles, *check)
    assert code == 1 and gate["verdict"] == "NO_GO", out
    assert (
        "integrity.sampling does not match the baseline: app.invoice_lines was sampled at 25% at baseline, "
        "integrity.sampling asks for fingerprinted in full; take the baseline again" in out
    ), out
