"""One key per purpose: a token or MAC minted for one kind is refused by every other kind."""

from __future__ import annotations

import contextlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.notices.links import LinkSigner
from hub.signing import PURPOSES, Keyring, Purpose, b64, derive_key, unb64, webhook_signature

# The worst case: the webhook secret configured equal to the link secret.
SECRET = b"one-secret-for-everything-0001"
KEYS = Keyring.from_secret(SECRET)
LINKS = LinkSigner(keys=KEYS)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Kind:
    """A kind of token: how one is made for a binding, and whether one is accepted for it."""

    mint: Callable[[str], str]
    accepts: Callable[[str, str], bool]
    graft: Callable[[bytes, str, int], str]  # the kind's format around foreign MAC bytes


def _link(kind: str) -> Kind:
    def graft(mac: bytes, binding: str, days: int) -> str:
        expiry = ((NOW + timedelta(days=days)) - _EPOCH).days
        digits = "".join(
            "0123456789abcdefghijklmnopqrstuvwxyz"[expiry // 36**i % 36] for i in (2, 1, 0)
        )
        return f"{kind}{digits}{binding}.{b64(mac[:8])}"

    return Kind(
        mint=lambda b: LINKS.sign(kind, b, now=NOW),  # type: ignore[arg-type]
        accepts=lambda t, b: LINKS.verify(kind, t, now=NOW) is not None,  # type: ignore[arg-type]
        graft=graft,
    )


def _keyed(purpose: Purpose) -> Kind:
    return Kind(
        mint=lambda b: KEYS.text_mac(purpose, b),
        accepts=lambda t, b: KEYS.text_mac_ok(purpose, b, t),
        graft=lambda mac, _b, _d: b64(mac[:18]),
    )


def _webhook_sig(binding: str) -> str:
    return webhook_signature(SECRET, 1_772_413_200, binding.encode())


WEBHOOK = Kind(
    mint=_webhook_sig,
    accepts=lambda t, b: hmac.compare_digest(t.encode(), _webhook_sig(b).encode()),
    graft=lambda mac, _b, _d: "sha256=" + (mac + bytes(32))[:32].hex(),
)

KINDS: dict[str, Kind] = {
    "case_link": _link("c"),
    "inbox_link": _link("i"),
    "wap_form": _keyed("wap_form"),
    "supervise_form": _keyed("supervise_form"),
    "wap_session": _keyed("wap_session"),
    "supervise_session": _keyed("supervise_session"),
    "sms_login": _keyed("sms_login"),
    "sms_code": _keyed("sms_code"),
    "key_fingerprint": _keyed("key_fingerprint"),
    "webhook_signature": WEBHOOK,
}
PAIRS = [(a, b) for a in KINDS for b in KINDS if a != b]


def mac_material(token: str) -> list[bytes]:
    """Every reading of a token's bytes an attacker might reuse as a MAC elsewhere."""
    found = []
    for part in {token, token.rpartition(".")[2], token.removeprefix("sha256=")}:
        if re.fullmatch(r"[0-9a-f]{64}", part):
            found.append(bytes.fromhex(part))
        with contextlib.suppress(ValueError):
            found.append(unb64(part))
    return found


bindings = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
) | st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)


@settings(max_examples=600)
@given(
    pair=st.sampled_from(PAIRS),
    binding=bindings,
    other=bindings,
    same=st.booleans(),
    days=st.integers(min_value=0, max_value=90),
)
def test_a_token_of_one_kind_is_refused_by_every_other(
    pair: tuple[str, str], binding: str, other: str, same: bool, days: int
) -> None:
    """Whatever the inputs, neither the token nor its MAC in the other's format is accepted."""
    minted_as, offered_to = pair
    target = binding if same else other
    token = KINDS[minted_as].mint(binding)
    receiver = KINDS[offered_to]
    assert not receiver.accepts(token, target)
    for mac in mac_material(token):
        assert not receiver.accepts(receiver.graft(mac, target, days), target)
        # The forgery: the minted binding spelled as the receiver's head + subject.
        assert not receiver.accepts(receiver.graft(mac, binding, days), binding)


@given(message=st.binary(max_size=200), length=st.integers(min_value=8, max_value=32))
def test_no_purpose_verifies_another_purposes_mac(message: bytes, length: int) -> None:
    """For every two purposes, the MAC of one (or its prefix) never verifies as the other's."""
    for made in PURPOSES:
        mac = KEYS.mac(made, message)[:length]
        assert KEYS.verify(made, message, mac)
        assert not any(KEYS.verify(p, message, mac) for p in PURPOSES if p != made)


def test_keys_differ_per_purpose_and_from_the_secret() -> None:
    """Each purpose has its own key, none of them the configured secret itself."""
    keys = [derive_key(SECRET, p) for p in PURPOSES]
    assert len(set(keys)) == len(PURPOSES)
    assert SECRET not in keys


def test_the_kinds_table_covers_every_purpose_that_signs_a_token() -> None:
    """A purpose added to hub.signing without a row here fails this test."""
    rate_limit_keys = {"client", "case"}  # MACs as database keys: never shown to anyone
    covered = {"case_link", "inbox_link"} | set(KINDS)
    assert set(PURPOSES) - rate_limit_keys <= covered


def test_a_too_short_mac_is_never_enough() -> None:
    """A MAC shorter than 8 bytes is refused outright, even the right prefix."""
    mac = KEYS.mac("wap_form", b"x")
    assert not KEYS.verify("wap_form", b"x", mac[:7])
    assert not KEYS.verify("wap_form", b"x", b"")
