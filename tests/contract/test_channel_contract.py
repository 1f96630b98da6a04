"""The behaviour every channel adapter promises, run against each one and its fake."""

from __future__ import annotations

import pytest

from channels import CHANNELS
from channels.base import Channel, DeliveryUnknown, Receipt
from core.errors import PermanentError, TransientError
from tests.contract.conftest import NOW, SECRETS, Harness


async def test_send_returns_a_receipt_from_the_provider(harness: Harness) -> None:
    """A deliverable message comes back as a receipt stamped by the injected clock."""
    receipt = await harness.channel.send(harness.message)
    assert isinstance(receipt, Receipt)
    assert receipt.accepted_at == NOW
    assert receipt.provider_message_id
    assert receipt.segments >= 1
    assert len(harness.accepted()) == 1


async def test_provider_records_our_message_id(harness: Harness) -> None:
    """Wherever the provider keeps a caller id, it is our message id (for reconciliation)."""
    if harness.seen_id is None:
        pytest.skip(f"{harness.name} has no caller-id field")
    await harness.channel.send(harness.message)
    (request,) = harness.accepted()
    assert harness.seen_id(request) == harness.message.id


async def test_unavailable_provider_is_transient(harness: Harness) -> None:
    """A 5xx (HTTP) or 421 (SMTP) answer is a TransientError and nothing is recorded as sent."""
    harness.fail("unavailable")
    with pytest.raises(TransientError):
        await harness.channel.send(harness.message)
    assert harness.accepted() == []


async def test_no_answer_within_the_timeout_is_transient(harness: Harness) -> None:
    """A provider that never answers yields a TransientError after the configured timeout."""
    harness.fail("hang")
    with pytest.raises(TransientError):
        await harness.channel.send(harness.message)


async def test_throttling_is_transient(harness: Harness) -> None:
    """The provider's throttling code is retried later, not dead-lettered."""
    harness.fail("throttle")
    with pytest.raises(TransientError) as caught:
        await harness.channel.send(harness.message)
    assert not isinstance(caught.value, DeliveryUnknown)


async def test_rejected_recipient_is_permanent(harness: Harness) -> None:
    """A recipient the provider refuses (bad number, unknown user, not following) is permanent."""
    harness.fail("reject_recipient")
    with pytest.raises(PermanentError):
        await harness.channel.send(harness.message)
    assert harness.accepted() == []


async def test_works_again_after_a_failure(harness: Harness) -> None:
    """One failure leaves the adapter usable: the next send goes through."""
    harness.fail("unavailable")
    with pytest.raises(TransientError):
        await harness.channel.send(harness.message)
    receipt = await harness.channel.send(harness.message)
    assert receipt.accepted_at == NOW


async def test_secrets_never_appear_in_reprs(harness: Harness) -> None:
    """Neither the adapter's nor its config's repr shows a secret."""
    text = repr(harness.channel) + repr(getattr(harness.channel, "config", ""))
    assert not any(secret in text for secret in SECRETS.values())


async def test_adapter_satisfies_the_channel_protocol(harness: Harness) -> None:
    """Each adapter is a Channel and is registered under its name."""
    assert isinstance(harness.channel, Channel)
    assert CHANNELS[harness.name] is type(harness.channel)


async def test_aclose_is_idempotent(harness: Harness) -> None:
    """Closing an adapter twice is harmless."""
    await harness.channel.aclose()
    await harness.channel.aclose()
