"""SIGTERM ends a run the way Ctrl-C does: fixtures tear down (provisioned rows removed, the app and the
embedded server stopped) and the gate writes a verdict that names the interruption (never GO).

CI runners, `timeout` and Kubernetes stop jobs with SIGTERM; without this, Python dies on the spot and
leaves test data, processes and an earlier gate file behind.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import pytest

_previous_key = pytest.StashKey[Any]()


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM; pytest handles it as an interruption."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Once is enough: a second SIGTERM during cleanup must not interrupt the cleanup itself.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated("SIGTERM")


def install(config: pytest.Config) -> None:
    """Handle SIGTERM like SIGINT, unless someone else (a runner, xdist) already handles it."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    config.stash[_previous_key] = signal.signal(signal.SIGTERM, _on_sigterm)


def uninstall(config: pytest.Config) -> None:
    previous = config.stash.get(_previous_key, None)
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)
