"""Serve the app with uvicorn: `python -m rollout_gate.reference_app.app --fd N` (or `--port N`).

Settings come from the environment."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys

import uvicorn

from rollout_gate.reference_app.app.server import create_app
from rollout_gate.reference_app.app.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rollout_gate.reference_app.app")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--fd", type=int, help="serve on this inherited, listening socket")
    where.add_argument("--port", type=int, help="bind 127.0.0.1:PORT")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--parent-pid", type=int, help="exit when this process (the one that started us) dies")
    args = parser.parse_args(argv)
    if args.parent_pid:
        _die_with_parent(args.parent_pid)
    try:
        settings = Settings.from_environ()
    except ValueError as exc:
        print(f"reference app: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="reference-app %(levelname)s %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=args.port or 0,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        # Finish in-flight requests quickly on SIGTERM: the harness stops the app between phases.
        timeout_graceful_shutdown=5,
    )
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    uvicorn.Server(config).run(sockets=sockets)
    return 0


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGTERM when the parent dies, so a killed harness never leaves a server behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
