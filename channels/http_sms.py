"""A generic HTTP SMS gateway, for centres that run their own (政务短信平台).

Configured, not coded: ``url``, ``method``, extra ``headers``, a Jinja
``body_template`` rendering the request body (variables: ``mobile``, ``text``
— the body with the 【signature】 —, ``body``, ``sign_name``, ``message_id``,
``kind``, ``params``; filter ``tojson``), and a success rule: HTTP 2xx and the
JSON value at ``success_path`` (dotted) equal to ``success_value``. The
provider's message id is read from ``message_id_path``; codes at ``code_path``
listed in ``transient_codes`` are retried, any other refusal is permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar

import jinja2.sandbox

from channels.base import (
    HttpAdapter,
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
)
from channels.sms_length import count_segments, signed_text
from core.errors import ConfigError
from core.notices import ChannelKind, OutboundMessage

__all__ = ["HttpSms", "HttpSmsConfig", "build_request", "lookup"]

DEFAULT_BODY = (
    '{"mobile": {{ mobile|tojson }}, "content": {{ text|tojson }}, '
    '"msg_id": {{ message_id|tojson }}}'
)


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpSmsConfig:
    """``[channels.sms.http]``."""

    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold a token
    content_type: str = "application/json; charset=utf-8"
    body_template: str = DEFAULT_BODY
    sign_name: str = ""
    success_path: str = "code"
    success_value: str = "0"
    code_path: str = "code"
    message_id_path: str = "msg_id"
    transient_codes: tuple[str, ...] = ()
    timeout: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        object.__setattr__(self, "transient_codes", tuple(str(c) for c in self.transient_codes))
        try:
            _env().parse(self.body_template)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"channels.sms.http.body_template: {exc}") from exc


def _env() -> jinja2.sandbox.ImmutableSandboxedEnvironment:
    # Sandboxed: the template comes from configuration.
    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``data.0.id``) in parsed JSON, or ``None``."""
    current = payload
    for part in path.split(".") if path else []:
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def build_request(config: HttpSmsConfig, message: OutboundMessage) -> HttpRequest:
    """The gateway request: the configured body template rendered for ``message``."""
    body = (
        _env()
        .from_string(config.body_template)
        .render(
            mobile=message.recipient,
            text=signed_text(message.body, config.sign_name),
            body=message.body,
            sign_name=config.sign_name,
            message_id=message.id,
            kind=message.kind.value,
            params=dict(message.params),
        )
    )
    headers = {"Content-Type": config.content_type, **config.headers}
    return HttpRequest(method=config.method, url=config.url, headers=headers, body=body.encode())


class HttpSms(HttpAdapter[HttpSmsConfig]):
    """Sends SMS through a centre's own HTTP gateway."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.SMS
    provider: ClassVar[str] = "http"
    config_type: ClassVar[type[HttpSmsConfig]] = HttpSmsConfig

    @cached_property
    def _success(self) -> str:
        return str(self.config.success_value)

    async def send(self, message: OutboundMessage) -> Receipt:
        """POST to the gateway; 2xx plus the success rule is a receipt."""
        status, payload = await self._exchange(
            build_request(self.config, message), sent_may_count=True
        )
        return self._judge(message, status, payload, self._clock())

    def _judge(
        self, message: OutboundMessage, status: int, payload: Mapping[str, Any], now: datetime
    ) -> Receipt:
        code = lookup(payload, self.config.code_path)
        detail = f"http gateway: HTTP {status}, code {code!r}"
        if 200 <= status < 300 and str(lookup(payload, self.config.success_path)) == self._success:
            provider_id = lookup(payload, self.config.message_id_path)
            return Receipt(
                provider_message_id=None if provider_id is None else str(provider_id),
                accepted_at=now,
                segments=count_segments(message.body, self.config.sign_name),
                raw=payload,
            )
        if str(code) in self.config.transient_codes or status in (408, 425):
            raise ProviderTransient(detail, code=None if code is None else str(code))
        raise ProviderPermanent(detail, code=None if code is None else str(code))
