"""`rollout-gate local up [--phase PHASE]`: the local target as a staging-like server, until stopped.

Starts the local rehearsal's target (an embedded PostgreSQL seeded with the reference app's v1 data)
and brings it to the state just before PHASE, as `pytest --env=local --phase=PHASE` would:

  pre-deploy      seeded v1 database
  post-migration  baseline taken, v2 migrations applied
  post-deploy     ... and the reference app deployed, with an SMTP sink for its mail (the default)
  load            same as post-deploy
  post-rollback   rollback applied, app stopped

Then it prints, as its first lines and in dotenv form (`rollout-gate local up > local.env` works):

  ROLLOUT_LOCAL_DATABASE_URL=postgresql://postgres:...@127.0.0.1:PORT/rg_main
      the target database, as its superuser
  ROLLOUT_LOCAL_BASE_URL=http://127.0.0.1:PORT
      the reference app (empty unless deployed: post-deploy, load)
  ROLLOUT_LOCAL_MAILDIR=.../mail/RUN-main
      the Maildir its SMTP sink delivers into (empty unless the app is deployed)
  ROLLOUT_LOCAL_USERS_CSV=.../users.csv
      email,password of a few seeded (pre-migration) users
  ROLLOUT_LOCAL_ANON_KEY=...
      the reference app's `apikey` for its Supabase-shaped sign-in (empty unless deployed)
  ROLLOUT_LOCAL_BASELINE=.../baseline.json
      from post-migration on: the data baseline taken before migrating (for --baseline)
  # one comment line saying what is up

and serves until SIGINT (Ctrl-C) or SIGTERM. Then it stops the app, the sink and the server, removes
everything it created (cluster data, mail, the users CSV, the baseline, its state directories) and
exits 0. `environments/examples/local-up.yaml` is a staging-like environment file that reads these
variables: `pytest --env=environments/examples/local-up.yaml -m "smoke or isolation"` verifies the
running target the way a team verifies staging. Locust and a browser can be pointed at the base URL.

A `local up` that was killed (SIGKILL) cannot clean up; the next one in the same state dir removes
what it left (its owner process is gone), as the rehearsal does with its clusters.

The printed DSN and the users' password are the point of this command, so it prints them: they
belong to a throwaway server on the loopback interface (a random password per run, gone when it
stops) and to the reference app's public seed. Never point anything real at it.

The environment's variables apply as in the rehearsal: ROLLOUT_SCALE_USERS / ROLLOUT_SCALE_ROWS
(seed size), ROLLOUT_MIGRATIONS_DIR / ROLLOUT_ROLLBACK_DIR (the sets applied), ROLLOUT_APP_FAULTS=flag,...
(the app started with protections removed, see rollout_gate/reference_app/app/faults.py).

Exit codes: 0 stopped by a signal and cleaned up; 1 the target could not be brought up (one line on
stderr: the cluster would not start, a migration failed...) or stopped serving; 4 usage or
environment file error.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from rollout_gate.cli.args import phase_arg
from rollout_gate.config import ConfigError, LoadedEnvironment, load_environment, resolve_path
from rollout_gate.phases import Phase

USAGE_ERROR = 4
FAILED = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_POLL_S = 1.0


class Stopped(BaseException):
    """A stop signal arrived. A BaseException, so no `except Exception` on the way up turns it into an error."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "local", help="the local target as a server (embedded PostgreSQL + reference app + mail sink)"
    )
    actions = parser.add_subparsers(dest="local_command", metavar="ACTION", required=True, parser_class=type(parser))
    up = actions.add_parser(
        "up",
        help="bring the local target up at a phase and serve it until SIGINT/SIGTERM",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "--phase",
        type=phase_arg,
        default=Phase.POST_DEPLOY,
        help="bring the target to the state just before this phase (default post-deploy)",
    )
    up.add_argument(
        "--env", default="local", metavar="NAME|PATH", help="a kind: local environment (default: the built-in local)"
    )
    up.add_argument("--environments-dir", type=Path, default=Path("environments"), help="where --env NAME is looked up")
    up.add_argument(
        "--state-dir",
        type=Path,
        help="where the cluster, the mail and the run's files live (default: the environment's local.state_dir, "
        ".rollout, in the current directory); what this command creates there is removed when it stops",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    return up(args)


def up(args: argparse.Namespace) -> int:
    try:
        loaded = _load(args)
    except ConfigError as exc:
        return _error(str(exc), USAGE_ERROR)
    try:
        # The local extra: the cluster's wheel, the app and its SMTP sink.
        from rollout_gate.local.up import LocalUp
        from rollout_gate.reference_app.app.faults import ENV_VAR as FAULTS_VAR
        from rollout_gate.reference_app.app.faults import Faults
    except ImportError as exc:
        return _error(f"the local target needs the local extra ({exc.name}): pip install 'rollout-gate[local]'", FAILED)
    try:
        Faults.parse(os.environ.get(FAULTS_VAR))  # a typo is a usage error before anything starts
    except ValueError as exc:
        return _error(str(exc), USAGE_ERROR)
    state_dir = args.state_dir if args.state_dir is not None else Path.cwd() / loaded.env.local.state_dir
    code = FAILED
    with _stop_on_signals():
        server = None
        try:
            server = LocalUp(loaded, state_dir, project_root=Path.cwd())
            endpoints = server.start(args.phase)
            for line in endpoints.dotenv():
                print(line)
            app = f"the reference app at {endpoints.base_url}" if endpoints.base_url else "no app deployed"
            print(
                f"# rollout-gate local up: {loaded.env.name} at {server.stage!r} (ready for {args.phase} checks), "
                f"{app}; SIGINT or SIGTERM stops it and removes what it created",
                flush=True,
            )
            while (problem := server.problem()) is None:
                time.sleep(_POLL_S)
            code = _error(problem, FAILED)
        except Stopped:
            code = 0
        except Exception as exc:  # one line, never a traceback wall: the cluster, a migration, the app...
            code = _error(_one_line(exc), FAILED)
        finally:
            # A second signal must not cut the cleanup short (it is bounded: every stop has a timeout).
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            for problem in server.close() if server is not None else []:
                code = _error(problem, FAILED)
    return code


def _load(args: argparse.Namespace) -> LoadedEnvironment:
    loaded = load_environment(resolve_path(args.env, args.environments_dir))
    if not loaded.env.is_local:
        raise ConfigError(f"{loaded.path}: kind: {loaded.env.kind}: `local up` serves a kind: local environment")
    if args.phase not in loaded.env.phases.enabled:
        raise ConfigError(f"{loaded.path}: phases.enabled: phase {args.phase} is not enabled for this environment")
    return loaded


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else ""
    if isinstance(exc, OSError | ImportError) or type(exc).__module__.startswith("psycopg"):
        return f"{type(exc).__name__}: {detail}"
    return detail or type(exc).__name__


def _error(message: str, code: int) -> int:
    print(f"rollout-gate local up: error: {message}", file=sys.stderr, flush=True)
    return code
