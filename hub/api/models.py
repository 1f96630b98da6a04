"""Request bodies of the API besides events (those are ``core.events``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from core.events import Instant, Mobile, normalize_mobile

ChannelName = Literal["sms", "email", "wecom", "wechat_mp", "wap"]
_QUIET = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
PersonId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Away(_Body):
    from_: Instant = Field(alias="from")
    to: Instant
    deputy: PersonId

    @model_validator(mode="after")
    def _ordered(self) -> Away:
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


class PersonIn(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    mobile: Mobile | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    wecom_userid: Annotated[str, StringConstraints(max_length=128)] | None = None
    wechat_openid: Annotated[str, StringConstraints(max_length=128)] | None = None
    channels: tuple[ChannelName, ...] = ()
    quiet_hours: Annotated[str, StringConstraints(pattern=_QUIET)] | None = None
    away: Away | None = None

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else normalize_mobile(value)

    def stored_fields(self) -> dict[str, Any]:
        """The ``people`` columns this body sets: its fields, ``away`` as its three columns."""
        fields: dict[str, Any] = self.model_dump(exclude={"away"})
        if self.away:
            fields |= {
                "away_from": self.away.from_,
                "away_to": self.away.to,
                "away_deputy": self.away.deputy,
            }
        return fields

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value


class DepartmentIn(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    head: PersonId | None = None
    deputy: PersonId | None = None
    supervisors: tuple[PersonId, ...] = ()


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """ISO-8601 durations of days, hours, minutes and seconds (``P1D``, ``PT2H30M``)."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError("must be an ISO-8601 duration such as PT2H or P1DT30M")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


class ClockAdvance(_Body):
    to: Instant | None = None
    by: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ClockAdvance:
        if (self.to is None) == (self.by is None):
            raise ValueError("give exactly one of 'to' (ISO instant) or 'by' (ISO duration)")
        if self.by is not None:
            parse_duration(self.by)
        return self
