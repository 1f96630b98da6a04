"""WeCom and WeChat: access tokens, stale-token retry, message shapes, per-person refusals."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp
import pytest

from channels import wechat_mp as wechat_mod
from channels import wecom as wecom_mod
from channels.base import ProviderPermanent
from channels.render import EXAMPLES, compose
from channels.tokens import TokenCache, utf8_truncate
from core.errors import PermanentError
from core.notices import ChannelKind, NoticeKind
from tests.contract.conftest import Harness, clock, message, wechat_config, wecom_config


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_wecom_fetches_one_token_for_many_concurrent_sends(wecom: Harness) -> None:
    """Ten sends racing for a token cause a single gettoken call."""
    msgs = [
        message(NoticeKind.NODE_OVERDUE, ChannelKind.WECOM, "wangwei", f"m-{i}") for i in range(10)
    ]
    receipts = await asyncio.gather(*(wecom.channel.send(m) for m in msgs))
    assert len({r.provider_message_id for r in receipts}) == 10
    assert wecom.fake.token_fetches == 1


async def test_wecom_refreshes_an_expired_token_and_retries_once(wecom: Harness) -> None:
    """A 42001 answer fetches a new token and the same send then succeeds."""
    await wecom.channel.send(wecom.message)
    wecom.fake.expire_tokens()
    receipt = await wecom.channel.send(wecom.message)
    assert receipt.provider_message_id == "wecom-2"
    assert wecom.fake.token_fetches == 2


async def test_wecom_token_is_reused_until_shortly_before_expiry(
    wecom: Harness, session: aiohttp.ClientSession
) -> None:
    """The token is cached for its lifetime minus the safety margin, then fetched anew."""
    ticker = Ticker()
    channel = wecom_mod.WeComApp(
        wecom_config(wecom.fake.url), session=session, clock=clock, monotonic=ticker
    )
    await channel.send(wecom.message)
    ticker.now += 7200 - 301
    await channel.send(wecom.message)
    assert wecom.fake.token_fetches == 1
    ticker.now += 2
    await channel.send(wecom.message)
    assert wecom.fake.token_fetches == 2


async def test_wecom_sends_a_text_card_linking_to_the_wap_page(wecom: Harness) -> None:
    """The card has the rendered title and description, the WAP link and the button text."""
    await wecom.channel.send(wecom.message)
    (sent,) = wecom.accepted()
    assert sent["msgtype"] == "textcard"
    assert sent["touser"] == "wangwei"
    assert sent["textcard"]["title"] == "超期提醒：NJ20250312-0042“现场核查”环节"
    assert "承办人：王伟" in sent["textcard"]["description"]
    assert sent["textcard"]["url"] == wecom.message.link
    assert sent["enable_duplicate_check"] == 1


async def test_wecom_card_shows_markup_from_names_and_notes_as_text(wecom: Harness) -> None:
    """`<div>` and `<a>` in a name or a note neither restyle the card nor plant a link."""
    context = {
        **EXAMPLES[NoticeKind.URGE],
        "by_name": '<div class="highlight">督查科</div>',
        "note": '<a href="https://evil.example/">点此核实</a> & 尽快',
    }
    urge = compose(
        message_id="msg-markup",
        kind=NoticeKind.URGE,
        channel=ChannelKind.WECOM,
        recipient="wangwei",
        context=context,
        person_id="p-1",
    )
    await wecom.channel.send(urge)
    (sent,) = wecom.accepted()
    description = sent["textcard"]["description"]
    assert "<div" not in description and "<a" not in description
    assert '&lt;div class="highlight"&gt;督查科&lt;/div&gt;' in description
    assert '&lt;a href="https://evil.example/"&gt;点此核实&lt;/a&gt; &amp; 尽快' in description
    plain = replace(urge, link=None)
    text = json.loads(
        wecom_mod.build_request(wecom_config("http://x"), plain, access_token="t").body
    )["text"]["content"]
    assert "<a" not in text and "&lt;a href" in text


async def test_wecom_invaliduser_in_a_successful_answer_is_permanent(wecom: Harness) -> None:
    """errcode 0 listing our user in invaliduser means nobody got it: permanent for that person."""
    wecom.fake.lenient = True
    ghost = message(NoticeKind.URGE, ChannelKind.WECOM, "ghost")
    with pytest.raises(ProviderPermanent) as caught:
        await wecom.channel.send(ghost)
    assert caught.value.code == "invaliduser"


async def test_wecom_wrong_secret_is_permanent(
    wecom: Harness, session: aiohttp.ClientSession
) -> None:
    """gettoken refusing the corp secret (40001) is permanent: the config must be fixed."""
    channel = wecom_mod.WeComApp(
        wecom_config(wecom.fake.url, corp_secret="wrong"), session=session, clock=clock
    )
    with pytest.raises(PermanentError, match="40001"):
        await channel.send(wecom.message)


def test_wecom_card_fields_are_cut_to_byte_limits() -> None:
    """Title ≤ 128 and description ≤ 512 UTF-8 bytes, cut on a character boundary."""
    long = replace(
        message(NoticeKind.ANNOUNCEMENT, ChannelKind.WECOM, "wangwei"),
        subject="标" * 100,
        body="文" * 400,
    )
    body = json.loads(
        wecom_mod.build_request(wecom_config("http://x"), long, access_token="t").body
    )
    assert len(body["textcard"]["title"].encode()) <= 128
    assert len(body["textcard"]["description"].encode()) <= 512
    assert utf8_truncate("一二三", 7) == "一二"


async def test_wechat_sends_template_data_link_and_client_msg_id(wechat: Harness) -> None:
    """The template message carries the configured template id, data, WAP url and our id."""
    receipt = await wechat.channel.send(wechat.message)
    (sent,) = wechat.accepted()
    assert sent["template_id"] == "TPL-accepted"
    assert sent["url"] == wechat.message.link
    assert sent["client_msg_id"] == wechat.message.id
    assert sent["data"]["keyword1"] == {"value": "NJ20250312-0042"}
    assert receipt.provider_message_id == str(sent["msgid"])


async def test_wechat_resend_with_the_same_id_is_not_delivered_twice(wechat: Harness) -> None:
    """Sending the same message again (after a lost answer) reuses client_msg_id: one delivery."""
    first = await wechat.channel.send(wechat.message)
    second = await wechat.channel.send(wechat.message)
    assert first.provider_message_id == second.provider_message_id
    assert len(wechat.accepted()) == 1


async def test_wechat_refreshes_an_expired_token_and_retries_once(wechat: Harness) -> None:
    """A stale token is replaced once and the send succeeds."""
    await wechat.channel.send(
        message(channel=ChannelKind.WECHAT_MP, recipient="o-follower-1", message_id="a")
    )
    wechat.fake.expire_tokens()
    await wechat.channel.send(
        message(channel=ChannelKind.WECHAT_MP, recipient="o-follower-1", message_id="b")
    )
    assert wechat.fake.token_fetches == 2
    assert len(wechat.accepted()) == 2


async def test_wechat_not_following_is_permanent_43004(wechat: Harness) -> None:
    """A person who does not follow the account gets 43004: permanent, go to the fallback."""
    stranger = message(channel=ChannelKind.WECHAT_MP, recipient="o-stranger")
    with pytest.raises(ProviderPermanent) as caught:
        await wechat.channel.send(stranger)
    assert caught.value.code == "43004"


def test_wechat_thing_values_are_cut_to_twenty_characters() -> None:
    """Values of thing* keys respect WeChat's 20-character limit."""
    msg = replace(
        message(channel=ChannelKind.WECHAT_MP, recipient="o-1"),
        params={"thing1": "很" * 30, "keyword1": "长" * 30},
    )
    request = wechat_mod.build_request(wechat_config("http://x"), msg, access_token="t")
    data = json.loads(request.body)["data"]
    assert len(data["thing1"]["value"]) == 20
    assert len(data["keyword1"]["value"]) == 30


# --- the token cache itself --------------------------------------------------------


async def test_token_cache_shares_one_failure_and_retries_on_the_next_call() -> None:
    """Concurrent waiters see the same failed fetch; a later call fetches again."""
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise ProviderPermanent("nope")
        return "tok", 7200.0

    cache = TokenCache(fetch)
    results = await asyncio.gather(cache.get(), cache.get(), return_exceptions=True)
    assert all(isinstance(r, ProviderPermanent) for r in results)
    assert await cache.get() == "tok"
    assert calls == 2


async def test_token_cache_invalidates_only_the_refused_token() -> None:
    """Invalidating an older token leaves a newer cached one alone."""
    tokens = iter(["t1", "t2"])

    async def fetch() -> tuple[str, float]:
        return next(tokens), 7200.0

    cache = TokenCache(fetch)
    assert await cache.get() == "t1"
    cache.invalidate("t1")
    assert await cache.get() == "t2"
    cache.invalidate("t1")
    assert await cache.get() == "t2"
