"""Read test mail the way a user reads an inbox: from a Maildir the target's SMTP sink fills."""

from __future__ import annotations

import mailbox
import re
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

LINK = re.compile(r"https?://[^\s\"'<>]+")


class MailConfig(BaseModel):
    """The `mail:` block of an environment file: where test mail can be read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A Maildir the target's SMTP sink delivers into. The local target uses its own sink.
    maildir: str | None = None

    @field_validator("maildir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `${VAR:-}` expands to "": an unset optional reference means "no inbox".
        return None if isinstance(value, str) and not value.strip() else value


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    text: str
    # Arrival order: the sink's nanosecond stamp, else the Date header (other mail catchers).
    received: float = 0.0

    def links(self, containing: str = "") -> list[str]:
        return [link for link in LINK.findall(self.text) if containing in link]

    def link(self, containing: str) -> str:
        found = self.links(containing)
        if not found:
            raise AssertionError(f"mail {self.subject!r} to {', '.join(self.to)} has no link containing {containing!r}")
        return found[-1]


class MailNotFound(AssertionError):
    """No matching mail arrived in time."""


class Mailbox:
    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self) -> list[Mail]:
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            return []
        box = mailbox.Maildir(self.path, create=False)
        return sorted((_parse(box.get_bytes(key)) for key in box.iterkeys()), key=lambda mail: mail.received)

    def to(self, address: str) -> list[Mail]:
        wanted = address.lower()
        return [m for m in self.messages() if wanted in m.to]

    def wait_for(self, address: str, *, subject: str = "", count: int = 1, timeout: float = 10.0) -> Mail:
        """The latest mail to `address` once at least `count` matching ones arrived (mail may be async)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject in m.subject]
            if len(found) >= count:
                return found[-1]
            if time.monotonic() >= deadline:
                raise MailNotFound(
                    f"no mail{f' about {subject!r}' if subject else ''} to {address} within {timeout:g}s"
                )
            time.sleep(0.05)  # polling an inbox: there is nothing to wait on in a directory


def _parse(raw: bytes) -> Mail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    to = message.get("X-Envelope-To") or message.get("To") or ""
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    recipients = tuple(part.strip().lower() for part in str(to).split(",") if part.strip())
    return Mail(to=recipients, subject=str(message.get("Subject", "")), text=text, received=_received(message))


def _received(message: EmailMessage) -> float:
    stamp = message.get("X-Sink-Received-Ns")
    if stamp and str(stamp).isdigit():
        return int(str(stamp)) / 1e9
    try:
        return parsedate_to_datetime(str(message.get("Date"))).timestamp()
    except (TypeError, ValueError):
        return 0.0
