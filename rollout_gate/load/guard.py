"""What a Locust run may load, and whether the harness that started it is still there.

Plain functions (no Locust import), shared by the command-line guard, the web UI's
swarm guard and the virtual users, so every way of starting load applies one rule.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from rollout_gate.config import LoadedEnvironment

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def host_problem(loaded: LoadedEnvironment, host: str | None) -> str | None:
    """Why `host` may not be loaded (None when it may): only the environment's own host, only where load
    is allowed, only loopback for the local rehearsal."""
    env = loaded.env
    if not env.safety.allow_load:
        return f"{loaded.path}: safety.allow_load is false: {env.name} refuses load runs"
    if not host:
        return "give --host: the base URL of the environment's app"
    try:
        target = urlsplit(host)
        port = target.port
    except ValueError:
        return f"host {host.rsplit('@', 1)[-1]!r} is not a URL"  # never the userinfo
    if env.is_local:
        if target.hostname not in _LOOPBACK:
            return f"the local environment only takes loopback hosts, not {target.hostname}"
        return None
    try:
        expected = urlsplit(env.target.base_url or "")
        expected_port = expected.port
    except ValueError:
        return f"{loaded.path}: target.base_url is not a URL"
    if (target.scheme, target.hostname, port) != (expected.scheme, expected.hostname, expected_port):
        shown = f"{target.scheme}://{target.hostname}" + (f":{port}" if port else "")  # never the userinfo
        return f"host {shown} is not {env.name}'s target.base_url"
    return None


class ParentWatch:
    """Is the process that started us still running? Locust runs in its own session, so it would
    outlive a harness killed outright (SIGKILL runs no cleanup) and keep loading the target."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        # When the harness is our parent (it always is: the runner starts Locust directly), a changed
        # parent pid is proof it died, immune to the pid being reused by another process.
        self.is_parent = os.getppid() == pid

    def alive(self) -> bool:
        if self.is_parent:
            return os.getppid() == self.pid
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by someone else
        return True
