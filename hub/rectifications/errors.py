"""What can go wrong with a rectification, said so the caller knows what to do next.

CuibanError
└── RectificationError
    ├── RectificationNotFound (LookupError)   no rectification with that id
    └── RectificationConflict                 the step was already taken (verified, closed)
InputError
└── ReplyTooLong                              the SMS reply would exceed the segment limit
"""

from __future__ import annotations

from core.errors import CuibanError, InputError


class RectificationError(CuibanError):
    """The rectification cannot be changed that way."""


class RectificationNotFound(RectificationError, LookupError):
    """There is no such rectification."""


class RectificationConflict(RectificationError):
    """The rectification is not in a state that allows this step."""


class ReplyTooLong(InputError):
    """The reply is too long for the applicant's SMS."""
