"""The real client behind trusted proxies, and nobody else's say-so."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.api.clients import client_address

PROXIES = [ip_network("10.0.0.0/24"), ip_network("::1/128"), ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "chain", "client"),
    [
        # A direct client: its headers are not believed.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # Through one trusted proxy: the address it appended.
        ("10.0.0.5", ["198.51.100.1"], "198.51.100.1"),
        # A spoofed entry on the left does not win over what our proxy saw.
        ("10.0.0.5", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),
        # Two trusted hops: the first untrusted one from the right.
        ("10.0.0.5", ["198.51.100.1", "10.0.0.7"], "198.51.100.1"),
        # Every hop trusted: the leftmost.
        ("10.0.0.5", ["10.0.0.8", "10.0.0.7"], "10.0.0.8"),
        # Garbage from the proxy: the walk stops at the last good address.
        ("10.0.0.5", ["not-an-ip"], "10.0.0.5"),
        ("10.0.0.5", ["198.51.100.1", "bogus", "10.0.0.7"], "10.0.0.7"),
        # Forwarded: for= spellings (RFC 7239), ports and IPv6 brackets.
        ("::1", ['"[2001:db8::17]:4711"'], "2001:db8::17"),
        ("127.0.0.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("127.0.0.1", ["_hidden"], "127.0.0.1"),
        # An IPv4 client through an IPv6 socket is the IPv4 client.
        ("::ffff:10.0.0.5", ["198.51.100.1"], "198.51.100.1"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, chain: list[str], client: str
) -> None:
    """X-Forwarded-For counts only from trusted proxies, read from our side outwards."""
    assert client_address(peer, chain, PROXIES) == client


addresses = st.ip_addresses(v=4).map(str)


@given(
    peer=addresses.filter(lambda a: not a.startswith(("10.0.0.", "127.0.0.1"))),
    chain=st.lists(addresses | st.text(max_size=20), max_size=5),
)
def test_an_untrusted_peer_can_never_name_another_address(peer: str, chain: list[str]) -> None:
    """From anyone but a trusted proxy, whatever the headers say, the peer is the client."""
    assert client_address(peer, chain, PROXIES) == peer


@given(
    spoofed=st.lists(addresses, max_size=4),
    seen=addresses.filter(lambda a: not a.startswith(("10.0.0.", "127.0.0.1"))),
    hops=st.lists(st.integers(min_value=1, max_value=250).map(lambda n: f"10.0.0.{n}"), max_size=3),
)
def test_what_a_client_prepends_never_wins(spoofed: list[str], seen: str, hops: list[str]) -> None:
    """Whatever a client writes into X-Forwarded-For itself, the address our first proxy saw
    is the client."""
    assert client_address("10.0.0.1", [*spoofed, seen, *hops], PROXIES) == seen


def test_no_trusted_proxies_believes_no_header() -> None:
    """With `http.trusted_proxies` empty (the default), the peer is always the client."""
    assert client_address("10.0.0.5", ["198.51.100.1"], []) == "10.0.0.5"
