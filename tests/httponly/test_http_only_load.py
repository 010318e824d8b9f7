"""`--phase=load` on the HTTP-only example (no database URL, `target.database: none`) against `rollout-gate local
up`: the Locust users sign in through the Supabase-shaped provider and run the declared resources' mix, with no
database anywhere in the run's environment. Judged on what the run measured (sign-ins, samples), not on the
verdict: how many requests a 6 s run completes depends on the machine. A wrong anon key fails the sign-ins."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_local_up import LocalUpProcess, up_dir  # noqa: F401
from tests.httponly.test_http_only_on_local_up import EXAMPLE, TOKEN, _by_id, _run


def test_the_load_phase_runs_without_a_database(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    up = LocalUpProcess(up_dir, env={"ROLLOUT_APP_STATS_TOKEN": TOKEN})
    try:
        variables = up.read_variables()
        env = tmp_path / "environments" / "http-only-load.yaml"
        env.parent.mkdir()
        text = EXAMPLE.read_text()
        assert "  enabled: [post-migration, post-deploy]\n" in text
        env.write_text(text.replace("  enabled: [post-migration, post-deploy]\n", "  enabled: [load]\n"))
        gate, output = _run(tmp_path / "p", env, variables, tmp_path / "r", "--phase=load")
        criteria = _by_id(gate)
        assert criteria["load"]["status"] == "pass", output  # the suite's own test: the run itself worked
        for cid in ("load_login_failure_warn", "load_login_failure_rollback"):
            assert criteria[cid]["status"] == "pass", (criteria[cid], output)

        # The same run signing in with a wrong anon key: every sign-in fails, and the gate says so.
        wrong = {**variables, "ROLLOUT_LOCAL_ANON_KEY": "wrong-anon-key-3"}
        gate, output = _run(tmp_path / "p", env, wrong, tmp_path / "r-bad", "--phase=load")
        assert gate["verdict"] != "GO", output
        assert _by_id(gate)["load_login_failure_rollback"]["status"] == "fail", output
        assert "wrong-anon-key-3" not in output
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()
