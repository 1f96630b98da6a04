"""What can go wrong with a rectification, said so the caller knows what to do next.

CuibanError
├── NotFound (LookupError)
│   └── RectificationNotFound        no rectification with that id            (404)
├── Conflict
│   └── RectificationConflict        the step was already taken (verified, closed)  (409)
└── InputError (ValueError)
    └── ReplyTooLong                 the SMS reply would exceed the segment limit   (422)
"""

from __future__ import annotations

from core.errors import Conflict, InputError, NotFound


class RectificationNotFound(NotFound):
    """There is no such rectification."""


class RectificationConflict(Conflict):
    """The rectification is not in a state that allows this step."""


class ReplyTooLong(InputError):
    """The reply is too long for the applicant's SMS."""
