"""The local SMTP sink and the test inbox: delivery, recipients, links, arrival order."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from rollout_gate.local.mail_sink import MailSink
from rollout_gate.mail import Mailbox, MailNotFound


def send(port: int, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "app@example.test", to, subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message)


def test_sink_delivers_to_a_maildir_the_inbox_reads_in_arrival_order(tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail" / "run-main")
    sink.start()
    try:
        box = Mailbox(sink.maildir)
        assert box.messages() == []
        for n in range(3):  # within one second: the Maildir's own dates cannot order these
            send(
                sink.port,
                "Invitee@Example.test",
                "You're invited",
                f"Accept: http://app/invitations/accept?token=t{n}\n",
            )
        send(sink.port, "other@example.test", "Other", "no link here")
        latest = box.wait_for("invitee@example.test", count=3, timeout=5)
        assert latest.link("/invitations/accept") == "http://app/invitations/accept?token=t2"
        first = box.to("invitee@example.test")[0]
        assert first.link("token=").endswith("token=t0")
        with pytest.raises(AssertionError, match="no link containing"):
            box.to("other@example.test")[0].link("/invitations/accept")
        with pytest.raises(MailNotFound, match=r"nobody@example\.test"):
            box.wait_for("nobody@example.test", timeout=0.2)
    finally:
        sink.stop()
