"""Benchmark: behavioural isolation probes against the migrated reference app.

    .venv/bin/python benchmarks/probes.py [--tenants 20] [--users 300] [--rows 100000]

Seeds and migrates the reference app in an embedded PostgreSQL (the local target), samples
`--tenants` members and runs every probe family (read, blind, write, move, spoof, anon) once with
writes and once read-only, then the role matrix (rollout_gate/isolation/roles.py) once; the combined
rate (probes with writes + the role matrix) is what the target is about. A probe is one (member, table,
operation) result; each runs one or two statements (the cross-tenant attempt and its positive
control), each in its own savepoint. The rate is probe statements per second over the whole run
(row picking and probe-row creation as admin included; read-backs not counted). Target: >= 500/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rollout_gate.catalog import qualify, read_catalog, resolve_tenancy  # noqa: E402
from rollout_gate.config import load_environment  # noqa: E402
from rollout_gate.isolation.roles import role_matrix  # noqa: E402
from rollout_gate.isolation.runner import run_probes  # noqa: E402
from rollout_gate.isolation.sampling import sample_members  # noqa: E402
from rollout_gate.local.cluster import EmbeddedCluster  # noqa: E402
from rollout_gate.local.target import LocalTarget  # noqa: E402
from rollout_gate.phases import Phase  # noqa: E402
from rollout_gate.run import RunContext  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    environ = {"ROLLOUT_SCALE_USERS": str(args.users), "ROLLOUT_SCALE_ROWS": str(args.rows)}
    loaded = load_environment(ROOT / "environments" / "local.yaml", environ)
    run = RunContext.new()
    target = LocalTarget(loaded, project_root=ROOT, run=run, environ=environ)
    try:
        started = time.perf_counter()
        target.advance_to(Phase.POST_MIGRATION)
        took = time.perf_counter() - started
        print(f"reference app seeded ({args.users} users, {args.rows:,} rows) and migrated in {took:.1f}s")
        tenancy = loaded.env.tenancy
        with psycopg.connect(target.database_url(), autocommit=True) as conn:
            extra = [qualify(t) for t in (tenancy.user_table, tenancy.tenant_table, tenancy.membership.table)]
            roles = [r for r in (tenancy.impersonation.role, tenancy.impersonation.anon_role) if r]
            model = resolve_tenancy(tenancy, read_catalog(conn, tenancy.schemas, extra_tables=extra, roles=roles))
            members = sample_members(conn, model, args.tenants, tenancy.probes.seed)
            print(f"{len(members)} members sampled, {len(model.tenant_tables)} tenant tables")
            ok = True
            statements, seconds = 0, 0.0
            for writes in (True, False):
                probe_run = run_probes(conn, model, members, writes=writes)
                results = len(probe_run.results) / probe_run.seconds
                verdict = "ok" if probe_run.rate >= 500 else "MISSED"
                ok &= verdict == "ok"
                print(f"writes={writes}: {probe_run.summary()}")
                rate = f"{probe_run.statements} statements in {probe_run.seconds:.2f}s = {probe_run.rate:.0f} probes/s"
                print(f"  {rate} "
                      f"[{verdict}: target >= 500/s]; {results:.0f} results/s")  # fmt: skip
                if writes:
                    statements, seconds = probe_run.statements, probe_run.seconds
            matrix = role_matrix(conn, model, writes=True)
            print(f"role matrix: {matrix.summary()}")
            statements, seconds = statements + matrix.statements, seconds + matrix.seconds
            combined = statements / seconds if seconds else 0.0
            verdict = "ok" if combined >= 500 else "MISSED"
            ok &= verdict == "ok"
            print(f"probes with writes + role matrix: {statements} statements in {seconds:.2f}s = "
                  f"{combined:.0f} probes/s [{verdict}: target >= 500/s]")  # fmt: skip
        return 0 if ok else 1
    finally:
        target.close()
        EmbeddedCluster(ROOT / loaded.env.local.state_dir, run.run_id, os.getpid()).stop()


if __name__ == "__main__":
    sys.exit(main())
