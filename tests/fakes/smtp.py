"""A real aiosmtpd server on loopback with a recording handler and injectable failures."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A port free on 127.0.0.1 now (aiosmtpd's Controller cannot bind port 0 and report it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingHandler:
    """Keeps every accepted message; ``faults`` decide the fate of the next ones."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.faults: deque[str] = deque()
        self.refuse: set[str] = set()  # addresses RCPT always refuses
        self.sessions: list[int] = []  # one id per SMTP session, per accepted message

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse or (self.faults and self.faults[0] == "reject_recipient"):
            if address not in self.refuse:
                self.faults.popleft()
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self.faults.popleft() if self.faults else None
        if fault == "unavailable":
            return "421 4.3.2 Service not available, closing transmission channel"
        if fault == "throttle":
            return "451 4.7.1 Too many messages, slow down"
        if fault == "hang":
            await asyncio.sleep(3)  # the client's 0.3 s timeout fires long before
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append(mail)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sessions.append(id(session))
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"


class Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()
        self.attempts = 0

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts += 1
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


class FakeSmtp:
    """Starts an aiosmtpd Controller on 127.0.0.1 (a free port) in its own thread."""

    def __init__(self, *, username: str = "", password: str = "", tls_context: Any = None):
        self.handler = RecordingHandler()
        self.auth = Authenticator(username, password) if username else None
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs.update(authenticator=self.auth, auth_require_tls=tls_context is not None)
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port(), **kwargs)

    def start(self) -> FakeSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def fail(self, *faults: str) -> None:
        self.handler.faults.extend(faults)

    @property
    def requests(self) -> list[EmailMessage]:
        return self.handler.messages
