"""Locust event listeners: rollout options, safety and bounds, and the verdict at the end.

Registered by `load/locustfile.py`. They run in every Locust process; what
must happen once (bounds watchdog, verdict) runs only on the master or a
local runner, never on workers. Every process started by the harness watches
it (`--rollout-parent-pid`) and quits when it is gone; only a run that ended
(run time, request cap, a stop from the web UI) writes measurements.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import gevent
from locust import between, events
from locust.runners import WorkerRunner

from rollout_gate.api.tenant_users import csv_path as csv_path_of
from rollout_gate.api.tenant_users import read_tenant_users
from rollout_gate.config import ConfigError, LoadedEnvironment, load_environment, resolve_path
from rollout_gate.load.config import LoadConfig
from rollout_gate.load.guard import ParentWatch, host_problem
from rollout_gate.load.measure import decide_load, measurements, write_result
from rollout_gate.load.member_user import LOGIN_NAME, LoadPlan, TenantMember
from rollout_gate.load.observation import from_locust
from rollout_gate.load.pool import PASSWORD_VAR, MemberPool
from rollout_gate.load.resource_mix import resource_tasks
from rollout_gate.reporting.text import verdict_lines

log = logging.getLogger("rollout_gate.load")
USAGE_ERROR = 4
# A run that did not end (harness gone, SIGTERM, Ctrl-C mid-run): no verdict, as pytest's "interrupted".
INTERRUPTED = 2
_PARENT_POLL_S = 0.5
# After the harness is gone, how long an orderly quit may take before the process exits regardless.
_ABORT_GRACE_S = 5.0


@dataclass
class Rollout:
    """This process's run state, kept on the Locust environment."""

    loaded: LoadedEnvironment
    config: LoadConfig
    created: float
    started: bool = False
    stopped: bool = False
    aborted: str | None = None


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("rollout-gate")
    group.add_argument("--rollout-env", default=os.environ.get("ROLLOUT_ENV"), help="environment NAME or YAML path")
    group.add_argument("--rollout-environments-dir", default="environments", help="where --rollout-env NAME lives")
    group.add_argument("--rollout-pool", default=None, help="member pool JSON written by the harness")
    group.add_argument("--rollout-users-csv", default=None, help="email,password CSV of test members")
    group.add_argument("--rollout-result", default="reports/load.json", help="where the measurements file goes")
    group.add_argument("--rollout-max-requests", type=int, default=None, help="stop after this many requests")
    group.add_argument("--rollout-run-id", default=None, help="the harness run this load run belongs to")
    group.add_argument("--rollout-parent-pid", type=int, default=None, help="quit when this process is gone")


def refuse(message: str) -> NoReturn:
    print(f"rollout-gate load: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def load_settings(options: Any) -> tuple[LoadedEnvironment, LoadConfig]:
    if not options.rollout_env:
        refuse("name the environment with --rollout-env NAME (or ROLLOUT_ENV): thresholds and safety come from it")
    try:
        loaded = load_environment(resolve_path(options.rollout_env, Path(options.rollout_environments_dir)))
    except ConfigError as exc:
        refuse(str(exc))
    return loaded, loaded.env.load


def check_target(loaded: LoadedEnvironment, host: str | None) -> None:
    """Refuse to start unless `host` is one the environment lets this run load (see `guard.host_problem`)."""
    problem = host_problem(loaded, host)
    if problem:
        refuse(problem)


def member_pool(options: Any, config: LoadConfig, loaded: LoadedEnvironment) -> MemberPool:
    csv_path = options.rollout_users_csv or config.pool_csv
    if csv_path:
        return MemberPool.from_csv(Path(csv_path))
    tenant_csv = csv_path_of(loaded.env.api.tenant_users, loaded.base_dir)
    if not options.rollout_pool and tenant_csv is not None and loaded.env.api.resources:
        # The declared resources' users (email,secret,tenant[,role]): no database needed to know their tenants.
        try:
            users = read_tenant_users(tenant_csv, loaded.env.api.tenant_users)
            return MemberPool.from_tenant_users(users, config.resource_mix.read_only_roles)
        except ValueError as exc:
            refuse(str(exc))
    if not options.rollout_pool:
        refuse(
            "give --rollout-pool FILE (written by the harness), --rollout-users-csv / load.pool_csv, "
            "or api.tenant_users.csv with api.resources"
        )
    password = os.environ.get(PASSWORD_VAR) or (
        loaded.env.target.auth.test_password.get_secret_value() if loaded.env.target.auth.test_password else None
    )
    if not password:
        refuse(f"set {PASSWORD_VAR} (or target.auth.test_password): the pool's shared test password")
    pool = MemberPool.load(Path(options.rollout_pool), password=password)
    if not pool.members:
        refuse(f"{options.rollout_pool} holds no members")
    return pool


@events.init.add_listener
def _init(environment: Any, web_ui: Any = None, **_kwargs: Any) -> None:
    options = environment.parsed_options
    loaded, config = load_settings(options)
    environment.rollout = Rollout(loaded, config, time.time())
    if options.rollout_parent_pid:
        gevent.spawn(_watch_parent, environment, ParentWatch(options.rollout_parent_pid))
    if not isinstance(environment.runner, WorkerRunner):
        check_target(loaded, environment.host)
        if web_ui is not None:
            guard_swarm(web_ui, environment, loaded)
        # Every run is bounded in time: the environment's cap wins over a longer (or missing) -t.
        options.run_time = min(options.run_time or config.run_time_s, config.max_run_time_s)
        max_requests = min(options.rollout_max_requests or config.max_requests, config.max_requests)
        gevent.spawn(_request_cap, environment, max_requests)
    pool = member_pool(options, config, loaded)
    try:
        mix = resource_tasks(loaded.env.api, config)
    except ValueError as exc:
        refuse(str(exc))
    TenantMember.plan = LoadPlan(
        config=config, pool=pool,
        host_problem=lambda host: host_problem(loaded, host), auth=loaded.env.target.auth,
        resource_tasks=mix,
    )  # fmt: skip
    TenantMember.wait_time = between(*config.think_time_s)


def guard_swarm(web_ui: Any, environment: Any, loaded: LoadedEnvironment) -> None:
    """The web UI's swarm form carries a host of its own: refuse one the command line would have refused,
    before Locust applies it (it sets `environment.host` from the form, then starts the users)."""
    from flask import jsonify, request

    @web_ui.app.before_request
    def _refuse_foreign_host() -> Any:
        if request.method != "POST" or (request.endpoint or "").rsplit(".", 1)[-1] != "swarm":
            return None
        problem = host_problem(loaded, request.form.get("host", environment.host))
        if problem is None:
            return None
        log.error("rollout-gate load: swarm refused: %s", problem)
        return jsonify({"success": False, "message": f"rollout-gate: {problem}", "host": environment.host})


def _watch_parent(environment: Any, watch: ParentWatch) -> None:
    """Quit the run (on the master: its workers too) once the harness that started it is gone."""
    while watch.alive():
        gevent.sleep(_PARENT_POLL_S)
    reason = f"the harness (pid {watch.pid}) that started this run is gone"
    log.error("rollout-gate load: %s: stopping", reason)
    environment.rollout.aborted = reason
    environment.process_exit_code = INTERRUPTED
    # An orderly quit stops the users and tells the workers; if it hangs, exit anyway.
    gevent.spawn_later(_ABORT_GRACE_S, os._exit, INTERRUPTED)
    if environment.runner is not None:
        environment.runner.quit()
    if environment.web_ui is not None:
        environment.web_ui.stop()


@events.test_start.add_listener
def _started(environment: Any, **_kwargs: Any) -> None:
    rollout: Rollout | None = getattr(environment, "rollout", None)
    if rollout is not None:
        rollout.started, rollout.stopped = True, False


@events.test_stop.add_listener
def _stopped(environment: Any, **_kwargs: Any) -> None:
    # Fired by the runner's stop (run time, request cap, the web UI's stop); a SIGTERM or Ctrl-C
    # mid-run reaches `quitting` first, with the users still running.
    rollout: Rollout | None = getattr(environment, "rollout", None)
    if rollout is not None and rollout.started:
        rollout.stopped = True


def unfinished(rollout: Rollout) -> str | None:
    """Why this run's numbers are no measurement (None when the run ended as planned)."""
    if rollout.aborted:
        return rollout.aborted
    if not rollout.started:
        return "no load was started"
    if not rollout.stopped:
        return "the run was interrupted before it ended"
    return None


def _request_cap(environment: Any, max_requests: int) -> None:
    """Stop the whole run (master: all workers) once it has sent `max_requests` requests."""
    while True:
        gevent.sleep(0.25)
        if environment.runner is None or environment.runner.state in ("stopped", "quitting"):
            return
        if environment.runner.stats.total.num_requests >= max_requests:
            log.warning("request cap of %d reached: stopping the run", max_requests)
            environment.runner.quit()
            return


@events.quitting.add_listener
def _verdict(environment: Any, **_kwargs: Any) -> None:
    rollout: Rollout | None = getattr(environment, "rollout", None)
    if isinstance(environment.runner, WorkerRunner) or rollout is None:
        return
    result = Path(environment.parsed_options.rollout_result)
    why = unfinished(rollout)
    if why:
        # Numbers of a cut-short run are not evidence: no file, so the gate cannot read them as a GO.
        print(f"rollout-gate load: {why}: no measurements written to {result} (no verdict)", file=sys.stderr)
        environment.process_exit_code = INTERRUPTED
        return
    loaded, config = rollout.loaded, rollout.config
    stats = environment.runner.stats
    last = stats.total.last_request_timestamp or time.time()
    duration = max(last - (stats.total.start_time or rollout.created), 0.001)
    obs = from_locust(stats, login_name=LOGIN_NAME, duration_s=duration)
    found = measurements(obs, sustained_window_s=config.sustained_window_s, source=f"locust:{result.name}")
    write_result(result, loaded, obs, found, run_id=environment.parsed_options.rollout_run_id, target=environment.host)
    decision, run_info = decide_load(result, loaded)
    print("=" * 30 + f" rollout gate (load): {decision.verdict.value} " + "=" * 30)
    for line in verdict_lines(decision, run_info):
        print(loaded.redact(line))
    print(f"measurements: {result}")
    environment.process_exit_code = decision.exit_code
