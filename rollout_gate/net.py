"""Loopback ports for the servers the harness starts."""

from __future__ import annotations

import socket


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 right now; the caller binds it soon after (and retries if it lost the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
