"""The local target's SMTP sink: aiosmtpd on a free loopback port, delivering into a Maildir.

Tests read the Maildir as a user reads an inbox (`rollout_gate.mail.Mailbox`); a Maildir also
works across processes, so a harness run in a subprocess can read mail its parent's sink received.
"""

from __future__ import annotations

import mailbox
import socket
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = mailbox.MaildirMessage(content if isinstance(content, bytes) else content.encode())
        # The envelope recipients are who the mail was really sent to (Bcc included).
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        # Arrival order, finer than the Maildir's one-second dates (a resent invitation must sort last).
        message["X-Sink-Received-Ns"] = str(time.time_ns())
        self.maildir.add(message)
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """Serves on a socket bound before starting, so the port is free by construction (no bind race)."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port)
        self._sock = sock

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class MailSink:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._controller: _BoundController | None = None
        self.port = 0

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._controller = _BoundController(MaildirHandler(self.maildir), sock)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
