"""No shipped, empty, short or shared secret runs a real hub.

Outside ``--demo`` and ``clock.mode = "manual"`` start-up refuses (exit 2, one
line naming the key) an API key, ``auth.callback_token`` or ``auth.link_secret``
that is the shipped default, empty or shorter than :data:`MIN_BYTES`; likewise
``webhooks.secret`` once ``webhooks.urls`` is set. No two of them may be equal:
each protects something else (``hub/signing.py``: the webhook secret is used as
is, because the receiving system holds it too). The shipped ``change-me`` is an
admin key and the shipped link secret would let anyone sign links and sessions.

``--demo`` swaps each weak secret for a random one instead (:func:`for_demo`) and
prints the admin key it made, so the demo still starts with no config at all.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import SecretStr

from core.errors import ConfigError
from hub.settings import ApiKey, Settings

#: The values the packaged config and the settings defaults ship with.
SHIPPED = frozenset({"change-me", "change-me-too", "change-me-three"})
#: 128 bits when the secret is random; a typed phrase needs more, and says so in the README.
MIN_BYTES = 16


def _weakness(value: str) -> str | None:
    if value in SHIPPED:
        return "is the shipped default"
    if not value:
        return "is empty"
    if len(value.encode()) < MIN_BYTES:
        return f"is shorter than {MIN_BYTES} bytes"
    return None


def _named_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(config key, value) of every secret the policy covers, in the config's order."""
    auth = settings.auth
    found = [(f"auth.api_keys[{i}]", k.key.get_secret_value()) for i, k in enumerate(auth.api_keys)]
    found.append(("auth.callback_token", auth.callback_token.get_secret_value()))
    found.append(("auth.link_secret", auth.link_secret.get_secret_value()))
    if settings.webhooks.urls:
        found.append(("webhooks.secret", settings.webhooks.secret.get_secret_value()))
    return found


def problems(settings: Settings) -> list[str]:
    """One line per weak or shared secret, naming its key (never its value)."""
    found: list[str] = []
    seen: dict[str, str] = {}
    for name, value in _named_secrets(settings):
        weakness = _weakness(value)
        if weakness is not None:
            found.append(
                f"{name} {weakness}: set a random value of at least {MIN_BYTES} bytes "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
            )
        elif value in seen:
            found.append(f"{name} is the same as {seen[value]}: each secret needs its own value")
        else:
            seen[value] = name
    return found


def check(settings: Settings) -> None:
    """Refuse to start with a weak or shared secret (the first found, named)."""
    found = problems(settings)
    if found:
        raise ConfigError(found[0])


@dataclass(frozen=True, kw_only=True)
class DemoSecrets:
    settings: Settings
    admin_key: str | None  # the admin key made for this run; None when one was configured


def for_demo(settings: Settings) -> DemoSecrets:
    """``settings`` with each weak secret swapped for a random one, for ``serve --demo``."""

    def fresh() -> SecretStr:
        return SecretStr(secrets.token_urlsafe(24))

    def weak(value: SecretStr) -> bool:
        return _weakness(value.get_secret_value()) is not None

    auth = settings.auth
    keys = [k for k in auth.api_keys if not weak(k.key)]
    admin_key: str | None = None
    if not any(k.role == "admin" for k in keys):
        admin = ApiKey(key=fresh(), role="admin", name="demo")
        admin_key = admin.key.get_secret_value()
        keys.insert(0, admin)
    update = {
        "api_keys": tuple(keys),
        "callback_token": fresh() if weak(auth.callback_token) else auth.callback_token,
        "link_secret": fresh() if weak(auth.link_secret) else auth.link_secret,
    }
    changed = settings.model_copy(update={"auth": auth.model_copy(update=update)})
    if settings.webhooks.urls and weak(settings.webhooks.secret):
        webhooks = settings.webhooks.model_copy(update={"secret": fresh()})
        changed = changed.model_copy(update={"webhooks": webhooks})
    return DemoSecrets(settings=changed, admin_key=admin_key)
