"""Where the data key comes from: ``privacy.data_key``, or a generated file for demos.

The key is never logged (a :class:`pydantic.SecretStr` in settings) and never
stored in the database. In ``--demo`` and on the manual clock an empty key is
generated once and kept beside the embedded database (``data_dir/data.key``,
mode 0600), so a demo restarts with its data readable; anywhere else an empty
key stops start-up, naming the key, like the other secrets.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.errors import ConfigError
from hub.privacy.vault import DataKey, Vault
from hub.settings import PrivacySettings

KEY_FILE = "data.key"


def generated_key(data_dir: Path) -> str:
    """The demo's key under ``data_dir``, made on first use."""
    path = data_dir.expanduser() / KEY_FILE
    try:
        return path.read_text("ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.expanduser().mkdir(parents=True, exist_ok=True)
    material = secrets.token_hex(32)
    # O_EXCL: two processes starting at once agree on the first key written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(material + "\n")
    return material


def load_vault(privacy: PrivacySettings, *, data_dir: Path, allow_generated: bool) -> Vault:
    """The vault for the configured keys; raises ConfigError naming a missing or bad key."""
    configured = privacy.data_key.get_secret_value()
    if not configured:
        if not allow_generated:
            raise ConfigError(
                "privacy.data_key: required (64 hex digits, e.g. from `openssl rand -hex 32`); "
                "only --demo and the manual clock generate one"
            )
        configured = generated_key(data_dir)
    previous = [
        DataKey.from_hex(key.get_secret_value(), name=f"privacy.previous_keys[{index}]")
        for index, key in enumerate(privacy.previous_keys)
    ]
    return Vault(DataKey.from_hex(configured), previous)
