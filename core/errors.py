"""Cuiban's exception tree.

    CuibanError
    ├── InputError (ValueError)          bad input from a person or a program: say which and why
    │   └── CalendarYearUnknown          a date outside the known years: refused, never guessed
    ├── NotFound (LookupError)           what was asked for does not exist
    ├── Conflict                         the request does not fit the current state
    ├── ConfigError                      settings that stop start-up; names the key
    └── ChannelError                     a notice could not be handed to a provider
        ├── TransientError               retry later: timeouts, 5xx, throttling, open circuit
        └── PermanentError               dead-letter: bad number, template rejected, user unknown

Each exception's docstring is its default message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CuibanError(Exception):
    """Cuiban failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(CuibanError, ValueError):
    """The input is not valid."""

    def __init__(
        self, message: str | None = None, *, errors: Sequence[Mapping[str, str]] = ()
    ) -> None:
        super().__init__(message)
        # Each bad field as {"field": ..., "message": ...}, for the API's ``errors`` list.
        self.errors = [dict(e) for e in errors]


class CalendarYearUnknown(InputError):
    """The working-day calendar does not know this year; import its year file first."""

    def __init__(self, year: int, known: tuple[int, int] | None = None) -> None:
        span = f" (known: {known[0]}–{known[1]})" if known else ""
        super().__init__(
            f"the working-day calendar does not know year {year}{span}; "
            f"import the State Council's holiday notice for {year} with `cuiban calendar import`"
        )
        self.year = year


class NotFound(CuibanError, LookupError):
    """There is no such thing."""


class Conflict(CuibanError):
    """The request does not fit the current state."""


class ConfigError(CuibanError):
    """The configuration is not valid."""


class ChannelError(CuibanError):
    """The notice could not be handed to the provider."""


class TransientError(ChannelError):
    """The provider failed for now; try again later."""


class PermanentError(ChannelError):
    """The provider refused the notice; retrying will not help."""
