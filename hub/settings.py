"""One frozen settings object, loaded from TOML plus ``CUIBAN_...`` environment overrides.

Lookup order for the file: ``--config FILE``, else ``$CUIBAN_CONFIG``, else
``config/cuiban.toml`` in the working directory, else the packaged defaults.
Any key can be overridden by ``CUIBAN_<SECTION>__<KEY>`` (nested sections joined
by ``__``). Unknown keys and bad values raise :class:`ConfigError` naming the key.
Secrets are :class:`pydantic.SecretStr`: they never show in reprs or logs.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from channels import (
    AliyunConfig,
    EmailConfig,
    HttpSmsConfig,
    TencentConfig,
    WeChatMpConfig,
    WeComConfig,
)
from core.errors import ConfigError

ENV_PREFIX = "CUIBAN_"
_QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: libpq's sslmode values (asyncpg accepts the same).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class DatabaseSettings(_Section):
    url: SecretStr = SecretStr("")
    data_dir: Path = Path(".cuiban")

    @field_validator("url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr) -> SecretStr:
        # Checked here so a wrong URL stops start-up with one line, before any connection;
        # the message never repeats the URL (it may carry a password).
        url = value.get_secret_value()
        if not url:
            return value
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            shown = f"{parts.scheme!r}" if parts.scheme else "none"
            raise ValueError(f"must be a postgresql:// URL (the scheme is {shown})")
        for mode in parse_qs(parts.query).get("sslmode", []):
            if mode not in SSL_MODES:
                raise ValueError(f"sslmode {mode!r} is not one of {', '.join(SSL_MODES)}")
        return value


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For / Forwarded is believed (hub/api/clients.py).
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    # SO_REUSEPORT: several `serve --role api` processes share one port and the kernel
    # spreads connections over them (docs/scaling.md; bench/multi_api.py).
    reuse_port: bool = False
    # Slow clients (hub/api/connections.py, hub/api/bodies.py): seconds for a request's
    # headers and, separately, for its body; open connections per client address.
    read_timeout: float = Field(default=15.0, gt=0, le=600)
    max_connections_per_client: int = Field(default=32, ge=1, le=100_000)

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


Role = Literal["admin", "ingest", "supervisor"]


#: In a supervisor key's ``departments``: every department of the centre (电子监察).
EVERY_DEPARTMENT = "*"


class ApiKey(_Section):
    key: SecretStr
    role: Role = "admin"
    name: str = ""  # who holds it, for the audit trail (e.g. "纪检监察组")
    # A supervisor key reads the access log of these departments' cases ("*": all of them,
    # the centre's 电子监察) and of those where ``person`` is head, deputy or a supervisor
    # (PUT /v1/departments). With neither it reads no department's (hub/privacy/access.py).
    departments: tuple[str, ...] = ()
    person: str = ""

    @field_validator("key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("an API key must be at least 8 characters")
        return value

    @field_validator("departments")
    @classmethod
    def _department_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not code or len(code) > 64 for code in value):
            raise ValueError('department codes of 1-64 characters, or "*" for every department')
        return value

    @model_validator(mode="after")
    def _only_supervisors_are_bound(self) -> ApiKey:
        # Admin keys read every department's log; ingest keys read none: a binding on them
        # would promise a limit that is not there.
        if self.role != "supervisor" and (self.departments or self.person):
            raise ValueError(f"departments and person apply to supervisor keys, not {self.role}")
        return self


class AuthSettings(_Section):
    api_keys: tuple[ApiKey, ...] = (ApiKey(key=SecretStr("change-me")),)
    callback_token: SecretStr = SecretStr("change-me-too")
    link_secret: SecretStr = SecretStr("change-me-three")
    # How long an SMS link keeps working; at most 90 days (hub/notices/links.py: MAX_LIFETIME).
    link_days: int = Field(default=90, ge=1, le=90)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _plain_string_is_admin(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"key": item} if isinstance(item, str) else item for item in value]
        return value


class ClockSettings(_Section):
    mode: Literal["system", "manual", "accelerated"] = "system"
    start: datetime | None = None
    speed: float = Field(default=1.0, gt=0)

    @field_validator("start", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-03-02T09:00:00+08:00")
        return value


class CalendarSettings(_Section):
    timezone: str = "Asia/Shanghai"
    year_files: tuple[Path, ...] = ()
    # The year after the last official one, from the statutory holidays (no 调休) until
    # the State Council's notice is imported.
    provisional_next_year: bool = True
    # From this day of the year ("MM-DD") a missing next year is warned about.
    warn_from: str = "11-01"

    @field_validator("warn_from")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            # 2024 is a leap year: 02-29 is a valid month-day.
            datetime.strptime(f"2024-{value}", "%Y-%m-%d")
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a month-day like 11-01") from exc
        return value

    def warns_on(self, day: date) -> bool:
        """Whether ``day`` lies on or after warn_from in its year (until 31 December)."""
        month, dom = (int(part) for part in self.warn_from.split("-"))
        return (day.month, day.day) >= (month, dom)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ProviderSection(_Section):
    """One provider's table (``[channels.sms.aliyun]`` …): the fields of its channel's config.

    The channels' ``*Config`` dataclasses are the one declaration of a provider's
    keys; :func:`provider_section` turns one into this section. A field the
    dataclass keeps out of its repr is a secret here (:class:`SecretStr`); a
    required one defaults to empty, so an unused provider needs no table (the
    registry refuses an empty one when it is the provider in use).
    """

    if TYPE_CHECKING:  # the fields are made from the dataclass at import time

        def __getattr__(self, name: str) -> Any: ...


_EMPTY: Mapping[Any, Any] = {str: "", int: 0, float: 0.0}


def provider_section(
    config: type[Any],
    *,
    omit: frozenset[str] = frozenset(),
    extra: Mapping[str, tuple[Any, Any]] | None = None,
) -> type[ProviderSection]:
    """The settings section for ``config``'s fields (less ``omit``), plus hub-only ``extra``."""
    hints = typing.get_type_hints(config)
    declared: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        if item.name in omit:
            continue
        secret = not item.repr
        kind = SecretStr if secret else hints[item.name]
        default: Any
        if item.default is not dataclasses.MISSING:
            default = SecretStr(str(item.default)) if secret else item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=item.default_factory)
        else:
            default = SecretStr("") if secret else _EMPTY[kind]
        declared[item.name] = (kind, default)
    declared |= dict(extra or {})
    name = config.__name__.removesuffix("Config") + "Settings"
    return pydantic.create_model(name, __base__=ProviderSection, **declared)


_ENABLED = {"enabled": (bool, False)}  # other media than SMS are off until switched on

if TYPE_CHECKING:
    AliyunSettings = ProviderSection
    TencentSettings = ProviderSection
    HttpSmsSettings = ProviderSection
    EmailSettings = ProviderSection
    WecomSettings = ProviderSection
    WechatMpSettings = ProviderSection
else:
    AliyunSettings = provider_section(AliyunConfig)
    TencentSettings = provider_section(TencentConfig)
    # The gateway's headers are built from ``token``; ``success_rule`` reads "code=0".
    HttpSmsSettings = provider_section(
        HttpSmsConfig,
        omit=frozenset({"headers"}),
        extra={"token": (SecretStr, SecretStr("")), "success_rule": (str, "")},
    )
    EmailSettings = provider_section(EmailConfig, extra=_ENABLED)
    WecomSettings = provider_section(WeComConfig, extra=_ENABLED)
    WechatMpSettings = provider_section(WeChatMpConfig, extra=_ENABLED)


class SmsSettings(_Section):
    provider: Literal["aliyun", "tencent", "http", "console"] = "console"
    # Billed segments a template may reach at worst (signature included); checked at start-up.
    max_segments: int = Field(default=3, ge=1, le=10)
    aliyun: AliyunSettings = AliyunSettings()
    tencent: TencentSettings = TencentSettings()
    http: HttpSmsSettings = HttpSmsSettings()


class ChannelsSettings(_Section):
    sms: SmsSettings = SmsSettings()
    email: EmailSettings = EmailSettings()
    wecom: WecomSettings = WecomSettings()
    wechat_mp: WechatMpSettings = WechatMpSettings()


class WebhookSettings(_Section):
    urls: tuple[str, ...] = ()
    secret: SecretStr = SecretStr("")


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return time.fromisoformat(value)
    return value


class MatterPolicy(_Section):
    warn_working_days: int | None = Field(default=None, ge=0, le=30)
    warn_fraction: float | None = Field(default=None, gt=0, lt=1)
    governed_by_other_law: bool = False


class RectificationPolicy(_Section):
    """好差评: how long the handling department has to verify and to answer a poor rating."""

    verify_working_days: int = Field(default=1, ge=1, le=30)  # 回访核实
    rectify_working_days: int = Field(default=15, ge=1, le=60)  # 整改答复


class PolicySettings(_Section):
    warn_working_days: int = Field(default=1, ge=0, le=30)
    warn_fraction: float | None = Field(default=None, gt=0, lt=1)
    office_start: time = time(9, 0)
    office_end: time = time(17, 30)  # an hours node due later is chased at the next office_start
    quiet_hours: str = "22:00-07:30"
    # When reviewers' due-soon reminders go, merged (core/rounds.py; decision 0023); empty: at once.
    reminder_rounds: tuple[time, ...] = (time(9, 0), time(11, 0), time(14, 0), time(16, 0))
    # Reminder SMS per reviewer per day; past it, their other channels (core/budget.py); 0: none.
    max_reminder_sms: int = Field(default=12, ge=0, le=1000)
    max_attempts: int = Field(default=8, ge=1, le=100)
    max_escalations: int = Field(default=5, ge=0, le=100)
    matters: Mapping[str, MatterPolicy] = Field(default_factory=dict)
    rectification: RectificationPolicy = RectificationPolicy()

    @field_validator("office_start", "office_end", mode="before")
    @classmethod
    def _hhmm(cls, value: Any) -> Any:
        return _parse_hhmm(value)

    @field_validator("reminder_rounds", mode="before")
    @classmethod
    def _rounds(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        parsed = [_parse_hhmm(item) for item in value]
        for item, moment in zip(value, parsed, strict=True):
            if not isinstance(moment, time):
                raise ValueError(f'{item!r} must look like "09:00"')
        return tuple(sorted(set(parsed)))

    @model_validator(mode="after")
    def _office_hours(self) -> PolicySettings:
        if self.office_end <= self.office_start:
            raise ValueError(
                f"office_end ({self.office_end:%H:%M}) must be later than "
                f"office_start ({self.office_start:%H:%M})"
            )
        return self

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if value and not _QUIET_HOURS.match(value):
            raise ValueError('must look like "22:00-07:30" (or be empty for none)')
        return value


_SLOT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class AppointmentSettings(_Section):
    """短信预约: the pickup window an applicant books by SMS (``YY <case_no>``, then a number)."""

    slots: tuple[str, ...] = ("09:00-12:00", "14:00-17:00")  # each working day's windows
    capacity: int = Field(default=20, ge=1, le=10_000)  # bookings per slot
    days_ahead: int = Field(default=5, ge=1, le=60)  # working days offered, from the next one
    offer_count: int = Field(default=3, ge=1, le=9)  # free slots listed in one SMS
    offer_valid_hours: int = Field(default=24, ge=1, le=24 * 14)  # how long a number reply books
    location: str = "政务服务中心领证窗口"  # when the case's pickup event names none

    @field_validator("slots")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError('list at least one slot, e.g. "09:00-12:00"')
        for slot in value:
            if not _SLOT.match(slot) or slot[:5] >= slot[6:]:
                raise ValueError(f'{slot!r} must look like "09:00-12:00" (start before end)')
        if len(set(value)) != len(value):
            raise ValueError("a slot is listed twice")
        return value


DEFAULT_CONCURRENCY: Mapping[str, int] = {
    "sms": 32,
    "email": 4,
    "wecom": 16,
    "wechat_mp": 16,
    "wap": 64,
}
# Messages per second per provider; 0 means no limit. Aliyun's and Tencent's default
# account QPS is in this range; WeCom allows ~30 messages per member per minute and an
# app a few thousand per minute; a centre's SMTP relay usually takes a few per second.
DEFAULT_RATES: Mapping[str, float] = {
    "aliyun": 50.0,
    "tencent": 50.0,
    "http": 50.0,
    "console": 0.0,
    "email": 10.0,
    "wecom": 20.0,
    "wechat_mp": 20.0,
    "wap": 0.0,
}


class DispatchSettings(_Section):
    """How the outbox dispatcher paces itself (``[dispatch]``); webhooks share its backoff."""

    batch_size: int = Field(default=100, ge=1, le=10_000)
    lease_seconds: float = Field(default=30.0, gt=0)
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    reap_seconds: float = Field(default=5.0, gt=0)
    stop_timeout_seconds: float = Field(default=10.0, ge=0)
    max_in_flight: int = Field(default=256, ge=1)
    # Keys not given keep their defaults: `concurrency = {sms = 8}` changes SMS only.
    concurrency: Mapping[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: dict(DEFAULT_CONCURRENCY)
    )
    rates: Mapping[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_RATES)
    )
    backoff_base_seconds: float = Field(default=30.0, gt=0)
    backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    circuit_threshold: int = Field(default=5, ge=1)
    circuit_open_seconds: float = Field(default=60.0, gt=0)

    @field_validator("concurrency", mode="after")
    @classmethod
    def _concurrency_defaults(cls, value: Mapping[str, int]) -> Mapping[str, int]:
        return {**DEFAULT_CONCURRENCY, **value}

    @field_validator("rates", mode="after")
    @classmethod
    def _rate_defaults(cls, value: Mapping[str, float]) -> Mapping[str, float]:
        return {**DEFAULT_RATES, **value}

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> DispatchSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("dispatch.heartbeat_seconds: must be shorter than lease_seconds")
        return self

    def concurrency_for(self, channel: str) -> int:
        return max(1, int(self.concurrency.get(channel, 8)))


class BroadcastSettings(_Section):
    """通知公告 (issue 10): how announcements are queued; see hub/broadcasts/service.py."""

    rate_per_second: float = Field(default=20.0, gt=0, le=10_000)  # per channel, all broadcasts
    priority: int = Field(default=10, ge=1, le=32_767)  # reminders are 0: lower goes first
    batch_size: int = Field(default=5000, ge=1, le=50_000)  # audience rows per transaction
    member_days: int = Field(default=365, ge=1, le=3650)  # a node this recent makes a member


class PrivacySettings(_Section):
    """Personal data at rest (hub/privacy/): the SM4 data key and how long data is kept."""

    data_key: SecretStr = SecretStr("")  # hex key material; never logged
    previous_keys: list[SecretStr] = []  # older keys, still opening what they sealed until rotated
    retain_days: int = Field(default=180, ge=1, le=36500)


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    """Everything Cuiban is told about its centre; frozen once loaded."""

    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    clock: ClockSettings = ClockSettings()
    calendar: CalendarSettings = CalendarSettings()
    channels: ChannelsSettings = ChannelsSettings()
    webhooks: WebhookSettings = WebhookSettings()
    policy: PolicySettings = PolicySettings()
    appointments: AppointmentSettings = AppointmentSettings()
    dispatch: DispatchSettings = DispatchSettings()
    broadcasts: BroadcastSettings = BroadcastSettings()
    privacy: PrivacySettings = PrivacySettings()
    logging: LoggingSettings = LoggingSettings()
    source: Annotated[str, Field(exclude=True)] = "<defaults>"

    @model_validator(mode="before")
    @classmethod
    def _aliyun_link_prefix(cls, data: Any) -> Any:
        """Aliyun's link prefix follows the public base URL unless set on its own."""
        if not isinstance(data, dict):
            return data
        aliyun = data.get("channels", {}).get("sms", {}).get("aliyun", {})
        if not isinstance(aliyun, dict) or aliyun.get("link_prefix"):
            return data
        base = str(data.get("http", {}).get("public_base_url", HttpSettings().public_base_url))
        channels = dict(data.get("channels", {}))
        sms = dict(channels.get("sms", {}))
        sms["aliyun"] = {**aliyun, "link_prefix": base.rstrip("/") + "/wap/"}
        channels["sms"] = sms
        return {**data, "channels": channels}

    @model_validator(mode="after")
    def _clock_start_needed(self) -> Settings:
        if self.clock.mode != "system" and self.clock.start is None:
            raise ValueError(f"clock.start: required when clock.mode is {self.clock.mode!r}")
        return self


def _default_config_text() -> str:
    return importlib.resources.files("config").joinpath("cuiban.toml").read_text("utf-8")


def _env_value(raw: str) -> Any:
    """Read an environment value as a TOML value when it is one, else as a plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(
    data: dict[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The data with the ``CUIBAN_...`` overrides applied, and which key each variable set."""
    from_env: dict[tuple[str, ...], str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == "CUIBAN_CONFIG" or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {'.'.join(path)} is not a section")
            node = child
        node[path[-1]] = _env_value(raw)
        from_env[tuple(path)] = name
    return data, from_env


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if not key:
        return str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    return f"{key}: {str(error['msg']).removeprefix('Value error, ')}"


def _blame(error: Mapping[str, Any], source: str, from_env: Mapping[tuple[str, ...], str]) -> str:
    """Where a bad key came from: the environment variable that set it, else the file."""
    loc = tuple(str(part) for part in error["loc"])
    for length in range(len(loc), 0, -1):
        variable = from_env.get(loc[:length])
        if variable is not None:
            return f"{variable} (environment): {_describe(error)}"
    return f"{source}: {_describe(error)}"


def find_config_file(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    if explicit:
        return Path(explicit)
    if environ.get("CUIBAN_CONFIG"):
        return Path(environ["CUIBAN_CONFIG"])
    local = Path("config/cuiban.toml")
    return local if local.is_file() else None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings from TOML and the environment; raise ConfigError naming any bad key."""
    environ = os.environ if environ is None else environ
    file = find_config_file(path, environ)
    try:
        text = file.read_text("utf-8") if file else _default_config_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from exc
    source = str(file) if file else "<packaged defaults>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    data, from_env = _apply_env(data, environ)
    try:
        settings = Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError("; ".join(_blame(e, source, from_env) for e in exc.errors())) from None
    return settings
