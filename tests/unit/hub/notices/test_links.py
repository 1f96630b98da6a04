"""Signed WAP links: short, bound to their subject, unforgeable, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.notices.links import MAX_LIFETIME, LinkSigner
from hub.signing import Keyring

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SIGNER = LinkSigner(keys=Keyring.from_secret(b"secret-of-the-centre"))


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=40,
    )
)
def test_a_signed_link_opens_its_own_subject_only(subject: str) -> None:
    """A token verifies to the subject it was made for, and only as its own kind."""
    token = SIGNER.sign("c", subject, now=NOW)
    assert SIGNER.verify("c", token, now=NOW) == subject
    assert SIGNER.verify("i", token, now=NOW) is None


def test_tokens_fit_a_35_character_sms_variable() -> None:
    """A case link token for a typical case number fits Aliyun's 35-character variable."""
    token = SIGNER.sign("c", "NJ20260302-0042", now=NOW)
    assert len(token) <= 31
    assert len(f"c/{token}") <= 35  # the variable part after a fixed https://…/wap/ prefix


def test_tampered_or_foreign_tokens_are_refused() -> None:
    """Changing a character, or a token made with another secret, does not verify."""
    token = SIGNER.sign("c", "A-1", now=NOW)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert SIGNER.verify("c", flipped, now=NOW) is None
    other = LinkSigner(keys=Keyring.from_secret(b"another-centre")).sign("c", "A-1", now=NOW)
    assert SIGNER.verify("c", other, now=NOW) is None
    for junk in ("", ".", "abc", "a.b.c", "%%%.%%%"):
        assert SIGNER.verify("c", junk, now=NOW) is None


def test_tokens_expire() -> None:
    """A token is valid through its lifetime and refused after it."""
    token = SIGNER.sign("c", "A-1", now=NOW)
    assert SIGNER.verify("c", token, now=NOW + timedelta(days=89)) == "A-1"
    assert SIGNER.verify("c", token, now=NOW + timedelta(days=92)) is None


def test_a_token_has_exactly_one_spelling() -> None:
    """Changing the MAC's last character in any way, spare base64 bits included, is refused."""
    token = SIGNER.sign("c", "A-1", now=NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variants = [token[:-1] + ch for ch in alphabet if ch != token[-1]]
    assert all(SIGNER.verify("c", v, now=NOW) is None for v in variants)


def test_no_link_outlives_the_cap_whatever_the_config() -> None:
    """A signer told to make year-long links makes 90-day ones; a far expiry is refused."""
    long_lived = LinkSigner(keys=SIGNER.keys, lifetime=timedelta(days=3650))
    token = long_lived.sign("c", "A-1", now=NOW)
    assert SIGNER.verify("c", token, now=NOW + MAX_LIFETIME - timedelta(days=1)) == "A-1"
    assert SIGNER.verify("c", token, now=NOW + MAX_LIFETIME + timedelta(days=2)) is None


def test_a_well_signed_token_with_an_expiry_beyond_the_cap_is_refused() -> None:
    """Even with a valid MAC, an expiry more than 90 days ahead is refused (issue 13: 2122)."""
    far = "c" + "zzz"  # the largest expiry day a head can spell: the year 2147
    mac = SIGNER._mac(far, b"A-1")
    from hub.signing import b64

    assert SIGNER.verify("c", f"{far}A-1.{b64(mac)}", now=NOW) is None
