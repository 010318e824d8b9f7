"""Outgoing mail over SMTP (the local target points it at its sink)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import anyio


class Mailer:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host = host
        self.port = port
        self.sender = sender

    @property
    def enabled(self) -> bool:
        return self.port > 0

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> bool:
        """Send one message; False when mail is not configured or the server refused it."""
        if not self.enabled:
            return False
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
        try:
            await anyio.to_thread.run_sync(self._deliver, message)
        except (OSError, smtplib.SMTPException):
            return False
        return True

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)
