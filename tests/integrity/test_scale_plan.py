"""The scan plan without a server: the pool stays within the budget and the server's limits, largest tables
first, and a plan over budget is refused in one line naming the tables that do not fit."""

from __future__ import annotations

from rollout_gate.integrity.config import IntegrityBudget
from rollout_gate.integrity.plan import ServerLimits, TableEstimate, make_plan

ROOMY = ServerLimits(max_connections=100, reserved=3, in_use=5, max_parallel_workers=8)


def tables(*rows: int) -> list[TableEstimate]:
    return [TableEstimate(f"app.t{i}", n, 0, n * 100) for i, n in enumerate(rows)]


def test_tables_are_scheduled_largest_first_on_the_budgeted_connections() -> None:
    plan = make_plan(
        "baseline", tables(4_000_000, 1_000_000, 1_000_000, 2_000_000), IntegrityBudget(workers=2, rows_per_s=1e6),
        ROOMY, scan_s=1800,
    )  # fmt: skip
    assert plan.connections == 2 and plan.parallel_per_statement == 0
    # Longest processing time first: 4M alone on one connection, 2M + 1M + 1M on the other.
    assert sorted(plan.lanes) == [4.0, 4.0]
    assert plan.estimated_s == 4.0
    assert plan.refusal() is None
    text = plan.describe()
    assert text.splitlines()[0].startswith("integrity baseline plan: 4 table(s), ~8,000,000 rows")
    assert "2 connection(s) x 1 process(es) = 2 worker(s)" in text and "~4.0s at 1,000,000 rows/s" in text


def test_spare_workers_become_parallel_workers_per_statement_within_max_parallel_workers() -> None:
    one_table = tables(10_000_000)
    plan = make_plan("baseline", one_table, IntegrityBudget(workers=4), ROOMY, scan_s=1800)
    assert (plan.connections, plan.parallel_per_statement) == (1, 3)
    few_workers = ServerLimits(max_connections=100, reserved=3, in_use=5, max_parallel_workers=1)
    plan = make_plan("baseline", one_table, IntegrityBudget(workers=4), few_workers, scan_s=1800)
    assert (plan.connections, plan.parallel_per_statement) == (1, 1)


def test_the_pool_never_takes_more_connections_than_the_server_has_free_beyond_the_margin() -> None:
    crowded = ServerLimits(max_connections=100, reserved=3, in_use=85, max_parallel_workers=8)
    plan = make_plan("baseline", tables(*[1000] * 20), IntegrityBudget(workers=16, connection_margin=10), crowded,
                     scan_s=1800)  # fmt: skip
    assert plan.connections == 2  # 100 - 3 - 85 - 10
    full = ServerLimits(max_connections=100, reserved=3, in_use=97, max_parallel_workers=8)
    plan = make_plan("baseline", tables(*[1000] * 20), IntegrityBudget(workers=16), full, scan_s=1800)
    assert plan.connections == 1


def test_a_plan_over_budget_is_refused_in_one_line_naming_the_tables_that_do_not_fit() -> None:
    plan = make_plan(
        "baseline", tables(900_000_000, 610_000_000, 5_000_000, 1_000),
        IntegrityBudget(time_s=600, workers=2, rows_per_s=1e6), ROOMY, scan_s=86400,
    )  # fmt: skip
    refusal = plan.refusal()
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("integrity baseline refused: ~15m00s with 2 connection(s)")
    assert "over integrity.budget.time_s 10m00s" in refusal
    assert "app.t0 (~900,000,000 rows, ~15m00s)" in refusal and "app.t1 (~610,000,000 rows" in refusal
    assert "app.t2" not in refusal and "app.t3" not in refusal  # the rest fits
    assert "integrity.source" in refusal


def test_a_table_that_would_outlast_the_scan_timeout_is_refused_even_within_budget() -> None:
    plan = make_plan(
        "compare", tables(300_000_000, 10), IntegrityBudget(time_s=86400, rows_per_s=1e5), ROOMY, scan_s=1800
    )
    refusal = plan.refusal()
    assert refusal is not None and "\n" not in refusal
    assert "app.t0" in refusal and "target.timeouts.scan_statement_s 30m00s" in refusal and "app.t1" not in refusal


def test_dead_tuples_count_in_the_compare_estimate() -> None:
    backfilled = [TableEstimate("app.t", 1_000_000, 1_000_000, 10)]
    plan = make_plan("compare", backfilled, IntegrityBudget(workers=1, rows_per_s=1e6), ROOMY, scan_s=1800)
    assert plan.estimated_s == 2.0
