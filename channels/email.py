"""E-mail with aiosmtplib: multipart text + HTML, UTF-8 headers, STARTTLS/TLS and AUTH.

``build_email`` is pure (the MIME message, byte-for-byte given a date); the
adapter opens one SMTP connection per :meth:`EmailChannel.send`, or one for a
whole batch with :meth:`EmailChannel.send_batch`.

SMTP replies map by their first digit (RFC 5321 §4.2.1): ``4xx`` transient,
``5xx`` permanent. Connection trouble and timeouts are transient; a timeout
after the message data went out is :class:`DeliveryUnknown`. The
``Message-ID`` is ``<message id@sender domain>``, so a resend is recognisable.

E-mails about one case thread: each names the case's stable root id
(:func:`case_thread_id`) in ``In-Reply-To`` and ``References`` (RFC 5322
§3.6.4), so a mail client files a case's receipt, reminders and notices as
one conversation even though the root itself is never sent.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import ClassVar, Literal

import aiohttp
import aiosmtplib

from channels.base import (
    Clock,
    DeliveryUnknown,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
    utcnow,
)
from core.errors import ChannelError, ConfigError
from core.notices import ChannelKind, OutboundMessage

__all__ = ["EmailChannel", "EmailConfig", "build_email", "case_thread_id", "classify_smtp"]

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailConfig:
    """``[channels.email]``; ``ca_file`` trusts a private CA (a centre's own relay)."""

    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    tls: TlsMode = "none"
    from_addr: str = "noreply@example.gov.cn"
    from_name: str = "政务服务中心"
    timeout: float = 30.0
    ca_file: str = ""
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.tls not in ("none", "starttls", "tls"):
            raise ConfigError(f"channels.email.tls must be none, starttls or tls, not {self.tls!r}")
        if "@" not in self.from_addr:
            raise ConfigError(f"channels.email.from_addr is not an address: {self.from_addr!r}")


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+)*")


def case_thread_id(case_no: str, domain: str) -> str:
    """The stable ``<…@domain>`` id every e-mail about ``case_no`` replies to.

    A case number that is a valid dot-atom is used as it is (readable in raw
    headers); any other is hashed, so the id is always well-formed.
    """
    if _DOT_ATOM.fullmatch(case_no) and len(case_no) <= 64:
        local = f"case.{case_no}"
    else:
        local = "case." + hashlib.sha256(case_no.encode()).hexdigest()[:32]
    return f"<{local}@{domain}>"


def build_email(config: EmailConfig, message: OutboundMessage, *, date: datetime) -> EmailMessage:
    """The MIME message: ``multipart/alternative`` text + HTML, RFC 2047 UTF-8 headers."""
    local, _, domain = config.from_addr.rpartition("@")
    mail = EmailMessage()
    mail["From"] = Address(display_name=config.from_name, username=local, domain=domain)
    mail["To"] = message.recipient
    mail["Subject"] = message.subject or message.kind.value
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = f"<{message.id}@{domain}>"
    mail["X-Cuiban-Kind"] = message.kind.value
    if message.case_no:
        mail["X-Cuiban-Case"] = message.case_no
        thread = case_thread_id(message.case_no, domain)
        mail["In-Reply-To"] = thread
        mail["References"] = thread
    mail.set_content(message.body, charset="utf-8")
    if message.html:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
        # A boundary derived from the message id keeps the bytes reproducible.
        mail.set_boundary(f"=_cuiban_{message.id}")
    return mail


def classify_smtp(exc: Exception, *, data_sent: bool = False) -> ChannelError:
    """Map an aiosmtplib/OS error to ours: 4xx transient, 5xx permanent, I/O transient."""
    code: int | None = None
    text = str(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        code, text = first.code, f"{first.recipient}: {first.message}"
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code, text = exc.code, exc.message
    if code is not None:
        error = ProviderPermanent if 500 <= code < 600 else ProviderTransient
        return error(f"smtp {code}: {text}", code=str(code))
    if data_sent and isinstance(exc, TimeoutError | aiosmtplib.SMTPServerDisconnected):
        return DeliveryUnknown(f"smtp: {type(exc).__name__} after the data was sent: {text}")
    return ProviderTransient(f"smtp: {type(exc).__name__}: {text}")


class EmailChannel:
    """Sends e-mail through the configured SMTP relay."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.EMAIL
    provider: ClassVar[str] = "email"
    config_type: ClassVar[type[EmailConfig]] = EmailConfig

    def __init__(
        self,
        config: EmailConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
    ) -> None:
        del session  # accepted for a uniform constructor; SMTP needs none
        self.config = config
        self._clock = clock

    def __repr__(self) -> str:
        return f"EmailChannel({self.config!r})"

    def _client(self) -> aiosmtplib.SMTP:
        config = self.config
        context: ssl.SSLContext | None = None
        if config.ca_file:
            context = ssl.create_default_context(cafile=config.ca_file)
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            timeout=config.timeout,
            tls_context=context,
        )

    async def send(self, message: OutboundMessage) -> Receipt:
        """Send one e-mail over a fresh connection."""
        (outcome,) = await self.send_batch([message])
        if isinstance(outcome, ChannelError):
            raise outcome
        return outcome

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[Receipt | ChannelError]:
        """Send several e-mails over one connection; one outcome per message, in order.

        A failure to connect or log in fails every message the same way; a
        refusal of one message does not stop the others.
        """
        if not messages:
            return []
        smtp = self._client()
        try:
            await smtp.connect()
            if self.config.username:
                await smtp.login(self.config.username, self.config.password)
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = classify_smtp(exc)
            smtp.close()
            return [error for _ in messages]
        outcomes: list[Receipt | ChannelError] = []
        try:
            for message in messages:
                outcomes.append(await self._send_one(smtp, message))
        finally:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
        return outcomes

    async def _send_one(
        self, smtp: aiosmtplib.SMTP, message: OutboundMessage
    ) -> Receipt | ChannelError:
        mail = build_email(self.config, message, date=self._clock())
        if not smtp.is_connected:
            return ProviderTransient("smtp: the connection closed before this message")
        try:
            _, response = await smtp.send_message(
                mail, sender=self.config.from_addr, recipients=[message.recipient]
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            # A reply to DATA's end (or its absence) is the only point where the
            # message may have been taken; aiosmtplib raises SMTPDataError then.
            return classify_smtp(exc, data_sent=isinstance(exc, TimeoutError))
        return Receipt(
            provider_message_id=str(mail["Message-ID"]),
            accepted_at=self._clock(),
            raw={"response": response},
        )

    async def aclose(self) -> None:
        """Nothing pooled: connections live for one send or one batch."""
