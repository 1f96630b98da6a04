"""The channel port: one Protocol, the receipt it returns, the errors it raises.

Every adapter (one module per provider) is built as ``Adapter(config, *,
session=None, clock=utcnow)`` and offers::

    async def send(self, message: OutboundMessage) -> Receipt
    async def aclose(self) -> None

``send`` either returns a :class:`Receipt` (the provider accepted the message)
or raises one of::

    ChannelError                       core.errors
    ├── TransientError                 retry later
    │   └── ProviderTransient          … with the provider's code
    │       └── DeliveryUnknown        … the request may have been accepted: reconcile first
    └── PermanentError                 dead-letter / fallback channel
        └── ProviderPermanent          … with the provider's code

Third-party errors (aiohttp, aiosmtplib, OSError) are mapped here, at the
boundary, with ``raise ... from exc``; nothing else escapes ``send``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import aiohttp
import orjson

from core.errors import ConfigError, PermanentError, TransientError
from core.notices import ChannelKind, OutboundMessage

__all__ = [
    "Channel",
    "Clock",
    "DeliveryUnknown",
    "HttpAdapter",
    "HttpRequest",
    "ProviderPermanent",
    "ProviderTransient",
    "Receipt",
    "classify",
    "config_from_mapping",
    "template_for",
    "utcnow",
]

Clock = Callable[[], datetime]
C = TypeVar("C")


def utcnow() -> datetime:
    """The current instant, timezone-aware (the default adapter clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class Receipt:
    """What the provider said when it accepted a message.

    ``provider_message_id`` is the id to match delivery reports by (Aliyun
    ``BizId``, Tencent ``SerialNo``, WeCom/WeChat ``msgid``, the e-mail
    ``Message-ID``); ``segments`` the billed SMS count (1 for other channels).
    """

    provider_message_id: str | None
    accepted_at: datetime
    segments: int = 1
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.accepted_at.tzinfo is None:
            raise ValueError("Receipt.accepted_at must be timezone-aware")
        object.__setattr__(self, "raw", MappingProxyType(dict(self.raw)))


@runtime_checkable
class Channel(Protocol):
    """A way to hand an :class:`OutboundMessage` to a provider."""

    kind: ClassVar[ChannelKind | None]

    async def send(self, message: OutboundMessage) -> Receipt:
        """Hand the message over; return the receipt or raise a classified ChannelError."""
        ...

    async def aclose(self) -> None:
        """Release connections; safe to call twice."""
        ...


class ProviderTransient(TransientError):
    """The provider failed for now; try again later."""

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class DeliveryUnknown(ProviderTransient):
    """The request may have reached the provider; reconcile before sending again."""


class ProviderPermanent(PermanentError):
    """The provider refused the notice; retrying will not help."""

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpRequest:
    """A fully built HTTP request: what ``build_request`` returns, byte for byte."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def config_from_mapping(cls: type[C], data: Mapping[str, Any], *, section: str) -> C:
    """Build a frozen config dataclass from a settings mapping, naming bad keys.

    Unknown keys and missing required keys raise :class:`ConfigError` with the
    dotted key (``channels.sms.aliyun.sign_name``), as the contract requires.
    """
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]}")
    missing = sorted(
        name
        for name, f in known.items()
        if name not in data and f.default is MISSING and f.default_factory is MISSING
    )
    if missing:
        raise ConfigError(f"missing key {section}.{missing[0]}")
    try:
        return cls(**dict(data))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {exc}") from exc


class _TimedConfig(Protocol):
    """What :class:`HttpAdapter` needs of a provider config: the request timeout."""

    @property
    def timeout(self) -> float: ...


ConfigT = TypeVar("ConfigT", bound=_TimedConfig)


class HttpAdapter(Generic[ConfigT]):
    """Shared plumbing for the HTTP adapters: config, session ownership and error mapping.

    Built as ``Adapter(config, *, session=None, clock=utcnow)``; ``config.timeout``
    bounds each request. The session is injected (the hub owns one per process);
    without one, the adapter opens its own on first use and closes it in
    :meth:`aclose`.
    """

    kind: ClassVar[ChannelKind | None] = ChannelKind.SMS
    provider: ClassVar[str] = "http"

    def __init__(
        self,
        config: ConfigT,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=config.timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise TransientError(f"{self.provider}: the HTTP session is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP session if this adapter opened it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def _exchange(
        self, request: HttpRequest, *, sent_may_count: bool = False
    ) -> tuple[int, Mapping[str, Any]]:
        """Perform ``request``; return (status, JSON object). 5xx, 429, timeouts: transient.

        With ``sent_may_count`` a timeout or dropped connection raises
        :class:`DeliveryUnknown`: the provider may already have accepted it
        (Aliyun and Tencent SMS do not deduplicate retries).
        """
        lost = DeliveryUnknown if sent_may_count else ProviderTransient
        try:
            async with self._client().request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body or None,
                timeout=self._timeout,
            ) as response:
                status = response.status
                body = await response.read()
        except TimeoutError as exc:
            raise lost(f"{self.provider}: no answer within {self._timeout.total} s") from exc
        except aiohttp.ClientConnectorError as exc:
            # Could not connect: the request certainly did not reach the provider.
            raise ProviderTransient(f"{self.provider}: cannot connect: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise lost(f"{self.provider}: {type(exc).__name__}: {exc}") from exc
        if status >= 500 or status == 429:
            raise ProviderTransient(f"{self.provider}: HTTP {status}", code=f"HTTP {status}")
        payload = _json_value(body)
        if payload is _NOT_JSON:
            raise ProviderTransient(
                f"{self.provider}: HTTP {status} with a body that is not JSON: {_start(body)!r}"
            )
        if not isinstance(payload, dict):
            raise ProviderTransient(
                f"{self.provider}: HTTP {status}: unexpected JSON {_start(body)!r}"
            )
        return status, payload


_NOT_JSON = object()


def _json_value(body: bytes) -> Any:
    """The JSON in a provider's answer (an empty body: ``{}``), or ``_NOT_JSON``.

    orjson first (an answer is parsed on every send); what it refuses (NaN, invalid
    UTF-8, read with replacement characters) goes through the standard library, as before.
    """
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return _NOT_JSON


def _start(body: bytes) -> str:
    """The first 80 characters of an answer, for an error message."""
    return body.decode("utf-8", errors="replace")[:80]


def classify(
    provider: str,
    code: str,
    detail: str,
    table: Mapping[str, type[ProviderTransient] | type[ProviderPermanent]],
    *,
    default: type[ProviderTransient] | type[ProviderPermanent] = ProviderTransient,
) -> ProviderTransient | ProviderPermanent:
    """Look ``code`` up in an adapter's one error table and build the error to raise.

    Codes the table does not know fall to ``default`` (transient unless the
    adapter says otherwise): the outbox bounds retries by ``policy.max_attempts``
    and then dead-letters, so an unknown code costs attempts, never a message.
    """
    error = table.get(code, default)
    return error(f"{provider} {code}: {detail}".rstrip(": "), code=code)


def template_for(
    templates: Mapping[str, str],
    message: OutboundMessage,
    *,
    provider: str,
    what: str,
    section: str,
) -> str:
    """The provider template configured for ``message.kind``.

    Raises :class:`ProviderPermanent` (code ``cuiban.NO_TEMPLATE``) naming the
    key to set when there is none: the provider would refuse the message.
    """
    kind = message.kind.value
    template = templates.get(kind)
    if not template:
        raise ProviderPermanent(
            f"{provider}: no {what} for {kind}; set {section}.templates.{kind}",
            code="cuiban.NO_TEMPLATE",
        )
    return template
