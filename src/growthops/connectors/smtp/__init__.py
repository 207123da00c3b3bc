"""SMTP transport: build a MIME message (plain text + HTML, ``Message-ID``) and send it.

Standard library only: :mod:`email` builds the message (``multipart/alternative`` with the
plain-text part first, RFC 2046 §5.1.4: the last part is the preferred one), :mod:`smtplib`
sends it, with STARTTLS when configured (RFC 3207). In tests and the demo the server is
``aiosmtpd`` on loopback. :class:`SendError` tells whether a failure is worth retrying
(4xx replies and network errors are transient, RFC 5321 §4.2.1; 5xx are permanent).
"""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol


class SendError(Exception):
    """An e-mail could not be sent; ``transient`` True means a later retry may succeed.

    ``kind`` says whose fault it is: ``recipient`` (the server refused the address, RCPT TO),
    ``message`` (refused after DATA), ``mailbox`` (connection, TLS, authentication or sender
    refused: the sending mailbox itself is unusable until someone looks).
    """

    def __init__(self, message: str, *, transient: bool, kind: str = "mailbox",
                 code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.kind = kind
        self.code = code


class MailSender(Protocol):
    """Anything that sends a built :class:`~email.message.EmailMessage` (raises SendError)."""

    def send(self, message: EmailMessage) -> None: ...


def new_message_id(domain: str) -> str:
    """Return a new globally unique ``<...@domain>`` Message-ID (RFC 5322 §3.6.4)."""
    return make_msgid(domain=domain or "localhost")


def build_message(*, from_address: str, to_address: str, subject: str, text: str, html: str,
                  message_id: str, language: str, reply_to: str | None = None) -> EmailMessage:
    """Return a ``multipart/alternative`` message: plain text, then HTML.

    ``message_id`` (with its angle brackets) is set as ``Message-ID``; ``language`` as
    ``Content-Language`` (RFC 3282).
    """
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = to_address
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["Content-Language"] = language
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


@dataclass
class SmtpSender:
    """Send through an SMTP server with :mod:`smtplib` (one connection per message)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 15.0

    def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise :class:`SendError` (transient for 4xx and network errors)."""
        with SmtpSession(host=self.host, port=self.port, username=self.username,
                         password=self.password, starttls=self.starttls,
                         timeout=self.timeout) as session:
            session.send(message)


def classify_error(exc: BaseException) -> SendError:
    """Map an :mod:`smtplib` / socket exception to a :class:`SendError` (see its ``kind``)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return SendError(f"recipient refused ({codes})", kind="recipient",
                         transient=all(400 <= c < 500 for c in codes), code=codes[0] if codes
                         else None)
    if isinstance(exc, smtplib.SMTPDataError):
        return SendError(f"SMTP {exc.smtp_code} after DATA", kind="message",
                         transient=400 <= exc.smtp_code < 500, code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendError(f"SMTP {exc.smtp_code}", transient=400 <= exc.smtp_code < 500,
                         code=exc.smtp_code)
    return SendError(f"SMTP: {type(exc).__name__}", transient=True)


@dataclass
class SmtpSession:
    """One SMTP connection kept open for several messages (``with SmtpSession(...) as s``);
    same errors as :class:`SmtpSender`. A failed connection is reopened on the next send."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 15.0

    def __post_init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            smtp.starttls()
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` on the open connection; raise :class:`SendError`."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
                self.close()
            raise classify_error(exc) from exc

    def close(self) -> None:
        """QUIT (best effort) and forget the connection."""
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sender_from_settings(settings: Any) -> SmtpSender | None:
    """Return an :class:`SmtpSender` from ``smtp_*`` settings, or None when no host is set."""
    if not getattr(settings, "smtp_host", None):
        return None
    pw = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpSender(host=settings.smtp_host, port=settings.smtp_port,
                      username=settings.smtp_username, password=pw,
                      starttls=settings.smtp_starttls)
