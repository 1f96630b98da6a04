"""E-mail against a real aiosmtpd server: MIME shape, UTF-8 headers, AUTH, STARTTLS, batches."""

from __future__ import annotations

import ssl

import pytest

from channels.base import ProviderPermanent, ProviderTransient, Receipt
from channels.email import EmailChannel, build_email, case_thread_id
from core.notices import ChannelKind, NoticeKind, OutboundMessage
from tests.contract.conftest import NOW, SECRETS, Harness, clock, email_config, message
from tests.fakes.smtp import FakeSmtp, free_port


def mail_to(
    address: str, message_id: str = "msg-0001", kind: NoticeKind = NoticeKind.CASE_ACCEPTED
) -> OutboundMessage:
    return message(kind, ChannelKind.EMAIL, address, message_id)


async def test_email_is_multipart_text_and_html_with_utf8_headers(email: Harness) -> None:
    """The recorded mail has text and HTML parts and a decodable Chinese subject and sender."""
    await email.channel.send(email.message)
    (mail,) = email.accepted()
    assert mail.get_content_type() == "multipart/alternative"
    assert str(mail["Subject"]) == "受理通知：NJ20250312-0042（食品经营许可）"
    assert mail["From"].addresses[0].display_name == "某市政务服务中心"
    assert mail["From"].addresses[0].addr_spec == "noreply@zw.example.gov.cn"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "查询码：738215" in text
    assert '<a href="https://zw.example.gov.cn/wap/c/AbC123">' in html
    assert email.fake.handler.envelopes == [
        ("noreply@zw.example.gov.cn", ["zhang.san@example.com"])
    ]


def test_build_email_is_pure() -> None:
    """build_email gives the same bytes for the same input; the Message-ID is ours."""
    config = email_config(25)
    first = build_email(config, mail_to("a@example.com"), date=NOW)
    again = build_email(config, mail_to("a@example.com"), date=NOW)
    assert first.as_bytes() == again.as_bytes()
    assert first["Message-ID"] == "<msg-0001@zw.example.gov.cn>"
    assert first["Date"] == "Wed, 12 Mar 2025 01:30:00 +0000"


async def test_e_mails_about_one_case_thread(email: Harness) -> None:
    """The receipt and a later notice of one case both reply to the case's stable root id."""
    channel = email.channel
    assert isinstance(channel, EmailChannel)
    await channel.send_batch(
        [
            mail_to("zhang.san@example.com", "m-1", NoticeKind.CASE_ACCEPTED),
            mail_to("zhang.san@example.com", "m-2", NoticeKind.PICKUP_NOTICE),
        ]
    )
    first, second = email.accepted()
    root = "<case.NJ20250312-0042@zw.example.gov.cn>"
    assert first["Message-ID"] != second["Message-ID"]
    assert [m["In-Reply-To"] for m in (first, second)] == [root, root]
    assert [m["References"] for m in (first, second)] == [root, root]
    assert "NJ20250312-0042" in str(second["Subject"])


def test_an_odd_case_number_still_makes_a_well_formed_thread_id() -> None:
    """A case number with characters a Message-ID may not hold is hashed, stably."""
    odd = case_thread_id("沪(2026)<1>@x", "zw.gov.cn")
    assert odd == case_thread_id("沪(2026)<1>@x", "zw.gov.cn")
    assert odd.startswith("<case.") and odd.endswith("@zw.gov.cn>")
    assert odd[1:-1].count("@") == 1 and all(c.isascii() and c.isprintable() for c in odd)


async def test_wrong_password_is_permanent(email: Harness) -> None:
    """A 535 authentication failure is a 5xx: permanent until the config is fixed."""
    channel = EmailChannel(email_config(email.fake.port, password="wrong"), clock=clock)
    with pytest.raises(ProviderPermanent) as caught:
        await channel.send(email.message)
    assert caught.value.code == "535"


async def test_nothing_listening_is_transient() -> None:
    """A refused connection is transient."""
    channel = EmailChannel(email_config(free_port(), username=""), clock=clock)
    with pytest.raises(ProviderTransient):
        await channel.send(mail_to("a@example.com"))


async def test_batch_uses_one_connection_and_isolates_a_refusal(email: Harness) -> None:
    """Three mails over one SMTP session; the refused middle one fails alone, permanently."""
    email.fake.handler.refuse.add("p1@example.com")
    channel = email.channel
    assert isinstance(channel, EmailChannel)
    outcomes = await channel.send_batch([mail_to(f"p{i}@example.com", f"m-{i}") for i in range(3)])
    assert [type(o) for o in outcomes] == [Receipt, ProviderPermanent, Receipt]
    assert len(email.accepted()) == 2
    assert len(set(email.fake.handler.sessions)) == 1


async def test_starttls_with_a_private_ca(server_tls: ssl.SSLContext, self_signed_cert) -> None:  # type: ignore[no-untyped-def]
    """With tls = "starttls" the adapter upgrades, verifies the relay against ca_file, logs in."""
    fake = FakeSmtp(username="cuiban", password=SECRETS["email"], tls_context=server_tls).start()
    try:
        cert, _ = self_signed_cert
        config = email_config(fake.port, tls="starttls", ca_file=str(cert), timeout=2.0)
        receipt = await EmailChannel(config, clock=clock).send(mail_to("a@example.com"))
        assert receipt.provider_message_id == "<msg-0001@zw.example.gov.cn>"
        assert len(fake.requests) == 1
    finally:
        fake.stop()


async def test_plaintext_against_a_relay_requiring_starttls_is_permanent(
    server_tls: ssl.SSLContext,
) -> None:
    """A relay demanding STARTTLS refuses a plaintext client with a 5xx (fix channels.email.tls)."""
    fake = FakeSmtp(tls_context=server_tls).start()
    try:
        config = email_config(fake.port, tls="none", username="", timeout=2.0)
        with pytest.raises(ProviderPermanent):
            await EmailChannel(config, clock=clock).send(mail_to("a@example.com"))
    finally:
        fake.stop()
