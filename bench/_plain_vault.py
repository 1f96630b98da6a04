"""The bench's "encryption off": a Vault that stores values as they are. Never in the hub.

``install()`` replaces :class:`hub.privacy.vault.Vault`'s seal, open and blind index
in this process: a seal returns the clear text (which every reader passes through as
a row from before sealing), and a blind index is the normalised text's bytes. The
SQL, the columns and every other step stay the same, so a run with and a run without
it differ only by the SM4-GCM and HMAC-SM3 work. Cuiban itself has no such switch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def plain() -> Iterator[None]:
    """The plain vault for the block, the real one again after it (in-process runs)."""
    from hub.privacy.vault import Vault

    saved = (Vault.seal, Vault.open, Vault.blind_index)
    install()
    try:
        yield
    finally:
        Vault.seal, Vault.open, Vault.blind_index = saved  # type: ignore[method-assign]


def install() -> None:
    from hub.privacy.vault import Vault

    def seal(self: Any, value: str, *, field: str) -> str:
        return value

    def open_(self: Any, sealed: str, *, field: str) -> str:
        return sealed

    def blind_index(self: Any, normalised: str, *, key: Any = None) -> bytes:
        return normalised.encode()

    Vault.seal = seal  # type: ignore[method-assign]
    Vault.open = open_  # type: ignore[method-assign]
    Vault.blind_index = blind_index  # type: ignore[method-assign]
