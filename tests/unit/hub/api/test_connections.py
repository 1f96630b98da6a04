"""The per-address connection cap."""

from __future__ import annotations

from ipaddress import ip_network

from hub.api.connections import ConnectionGate


def test_an_address_gets_its_share_and_no_more_until_one_closes() -> None:
    """At most `per_client` open connections per address; closing one admits the next."""
    gate = ConnectionGate(2)
    assert [gate.admit("198.51.100.1") for _ in range(3)] == [True, True, False]
    assert gate.admit("198.51.100.2")  # another client is not affected
    gate.release("198.51.100.1")
    assert gate.admit("198.51.100.1")
    assert gate.refused == 1


def test_trusted_proxies_are_not_capped() -> None:
    """A proxy's connections carry many clients: the cap does not apply to it."""
    gate = ConnectionGate(1, exempt=[ip_network("10.0.0.0/24")])
    assert all(gate.admit("10.0.0.5") for _ in range(50))
    assert gate.admit("198.51.100.1") and not gate.admit("198.51.100.1")
