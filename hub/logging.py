"""structlog, configured once: JSON off a tty, readable on one; secrets and mobiles masked."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

from hub.notices.links import TOKEN_IN_TEXT
from hub.notices.words import mask_mobiles_in

_SECRET_KEYS = re.compile(r"(secret|password|token|api_key|authorization|query_code)", re.I)
# A signed page path (/wap/c/<token>, /wap/inbox/<token>, and what follows it) and a
# ?token= query parameter: a logged request path must not hand out what it opens.
_SIGNED_PATH = re.compile(r"(/wap/(?:c|inbox)/)[^/?#\s\"']+")
_TOKEN_PARAM = re.compile(r"([?&](?:token|csrf)=)[^&#\s\"']+", re.I)


def redact_text(text: str) -> str:
    """Signed tokens cut to ``***`` and mobile numbers masked, in any text."""
    text = _SIGNED_PATH.sub(r"\1***", text)
    text = _TOKEN_PARAM.sub(r"\1***", text)
    return mask_mobiles_in(TOKEN_IN_TEXT.sub("***", text))


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Never let a secret, a signed token, a query code or a full mobile reach a log line."""
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


class RedactAccessLog(logging.Filter):
    """aiohttp's access log (stdlib logging, off in ``cuiban serve``) redacted the same way."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


class _CurrentStderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured.

    Test runners and daemon wrappers replace ``sys.stderr`` after start-up; a stream
    captured at configuration would keep writing to the replaced one.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    level: str = "info", fmt: str = "auto", *, stream: TextIO | None = None
) -> None:
    """structlog to ``stream`` (stderr by default): JSON unless it is a terminal."""
    _redact_access_log()
    out = cast(TextIO, _CurrentStderr()) if stream is None else stream
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
