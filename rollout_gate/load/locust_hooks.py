"""Locust event listeners: rollout options, safety and bounds, and the verdict at the end.

Registered by `load/locustfile.py`. They run in every Locust process; what
must happen once (bounds watchdog, verdict) runs only on the master or a
local runner, never on workers.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import gevent
from locust import between, events
from locust.runners import WorkerRunner

from rollout_gate.config import ConfigError, LoadedEnvironment, load_environment, resolve_path
from rollout_gate.load.config import LoadConfig
from rollout_gate.load.measure import decide_load, measurements, write_result
from rollout_gate.load.member_user import LOGIN_NAME, LoadPlan, TenantMember
from rollout_gate.load.observation import from_locust
from rollout_gate.load.pool import PASSWORD_VAR, MemberPool
from rollout_gate.reporting.text import verdict_lines

log = logging.getLogger("rollout_gate.load")
USAGE_ERROR = 4
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("rollout-gate")
    group.add_argument("--rollout-env", default=os.environ.get("ROLLOUT_ENV"), help="environment NAME or YAML path")
    group.add_argument("--rollout-environments-dir", default="environments", help="where --rollout-env NAME lives")
    group.add_argument("--rollout-pool", default=None, help="member pool JSON written by the harness")
    group.add_argument("--rollout-users-csv", default=None, help="email,password CSV of test members")
    group.add_argument("--rollout-result", default="reports/load.json", help="where the measurements file goes")
    group.add_argument("--rollout-max-requests", type=int, default=None, help="stop after this many requests")


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
    """Only the environment's own host, only where load is allowed, only loopback for the local rehearsal."""
    env = loaded.env
    if not env.safety.allow_load:
        refuse(f"{loaded.path}: safety.allow_load is false: {env.name} refuses load runs")
    if not host:
        refuse("give --host: the base URL of the environment's app")
    target = urlsplit(host)
    if env.is_local:
        if target.hostname not in _LOOPBACK:
            refuse(f"the local environment only takes loopback hosts, not {target.hostname}")
        return
    expected = urlsplit(env.target.base_url or "")
    if (target.scheme, target.hostname, target.port) != (expected.scheme, expected.hostname, expected.port):
        refuse(f"--host {target.scheme}://{target.hostname} is not {env.name}'s target.base_url")


def member_pool(options: Any, config: LoadConfig, loaded: LoadedEnvironment) -> MemberPool:
    csv_path = options.rollout_users_csv or config.pool_csv
    if csv_path:
        return MemberPool.from_csv(Path(csv_path))
    if not options.rollout_pool:
        refuse("give --rollout-pool FILE (written by the harness) or --rollout-users-csv / load.pool_csv")
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
def _init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    loaded, config = load_settings(options)
    if not isinstance(environment.runner, WorkerRunner):
        check_target(loaded, environment.host)
        # Every run is bounded in time: the environment's cap wins over a longer (or missing) -t.
        options.run_time = min(options.run_time or config.run_time_s, config.max_run_time_s)
        max_requests = min(options.rollout_max_requests or config.max_requests, config.max_requests)
        gevent.spawn(_request_cap, environment, max_requests)
    pool = member_pool(options, config, loaded)
    TenantMember.plan = LoadPlan(config=config, pool=pool, sign_in_path=loaded.env.target.auth.sign_in_path)
    TenantMember.wait_time = between(*config.think_time_s)
    environment.rollout = (loaded, config, time.time())


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
    if isinstance(environment.runner, WorkerRunner) or not hasattr(environment, "rollout"):
        return
    loaded, config, started = environment.rollout
    stats = environment.runner.stats
    last = stats.total.last_request_timestamp or time.time()
    duration = max(last - (stats.total.start_time or started), 0.001)
    obs = from_locust(stats, login_name=LOGIN_NAME, duration_s=duration)
    result = Path(environment.parsed_options.rollout_result)
    found = measurements(obs, sustained_window_s=config.sustained_window_s, source=f"locust:{result.name}")
    write_result(result, loaded, obs, found)
    decision, run_info = decide_load(result, loaded)
    print("=" * 30 + f" rollout gate (load): {decision.verdict.value} " + "=" * 30)
    for line in verdict_lines(decision, run_info):
        print(loaded.redact(line))
    print(f"measurements: {result}")
    environment.process_exit_code = decision.exit_code
