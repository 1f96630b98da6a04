"""Aliyun, Tencent and the generic gateway: signatures, payloads and code mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import aiohttp
import pytest

from channels import aliyun, http_sms, tencent
from channels.base import DeliveryUnknown, ProviderPermanent, ProviderTransient
from core.errors import ConfigError, PermanentError, TransientError
from core.notices import NoticeKind
from tests.contract.conftest import (
    NOW,
    Harness,
    aliyun_config,
    clock,
    message,
    tencent_config,
)
from tests.fakes.aliyun import expected_signature

# Aliyun's documented SendSms example (签名机制, Dysmsapi): these parameters,
# AccessKeySecret "testSecret", method GET -> zJDF+Lrzhj/ThnlvIToysFRq6t4=.
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_signature_matches_the_documented_sendsms_vector() -> None:
    """Our RPC signature reproduces Aliyun's published SendSms example exactly."""
    assert aliyun.sign("GET", ALIYUN_DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun.string_to_sign("GET", ALIYUN_DOC_PARAMS).startswith(
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML"
    )


def test_aliyun_signature_matches_the_documented_rpc_vector() -> None:
    """Our RPC signature reproduces the generic DescribeRegions example of the signing doc."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun.sign("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~-_.", "~-_."),
        ("/=&+", "%2F%3D%26%2B"),
        ("派", "%E6%B4%BE"),
    ],
)
def test_aliyun_percent_encoding_follows_pop_rules(raw: str, encoded: str) -> None:
    """Space is %20, * is %2A, ~ stays, UTF-8 bytes are %XX (Aliyun's percentEncode)."""
    assert aliyun.percent_encode(raw) == encoded


def test_aliyun_request_is_deterministic_and_independently_verifiable() -> None:
    """build_request is pure: fixed timestamp and nonce give the same bytes, which verify."""
    config = aliyun_config("https://dysmsapi.aliyuncs.com")
    msg = message(recipient="+8613812345678")
    first = aliyun.build_request(config, msg, timestamp=NOW, nonce="n-1")
    again = aliyun.build_request(config, msg, timestamp=NOW, nonce="n-1")
    assert first == again
    form = dict(parse_qsl(first.body.decode()))
    assert form["PhoneNumbers"] == "13812345678"
    assert form["OutId"] == msg.id
    assert form["TemplateCode"] == "SMS_0001"
    assert form["Timestamp"] == "2025-03-12T01:30:00Z"
    assert json.loads(form["TemplateParam"]) == dict(msg.params)
    assert list(json.loads(form["TemplateParam"])) == [
        "matter",
        "case_no",
        "query_code",
        "promise",
        "link",
    ]
    assert form["Signature"] == expected_signature("POST", form, config.access_key_secret)


async def test_aliyun_fake_rejects_a_wrong_secret_as_permanent(
    aliyun: Harness, session: aiohttp.ClientSession
) -> None:
    """A request signed with the wrong secret gets SignatureDoesNotMatch, a permanent error."""
    channel = aliyun.channel.__class__(
        aliyun_config(aliyun.fake.url, access_key_secret="wrong"), session=session, clock=clock
    )
    with pytest.raises(ProviderPermanent) as caught:
        await channel.send(aliyun.message)
    assert caught.value.code == "SignatureDoesNotMatch"


async def test_aliyun_picks_the_template_code_of_the_notice_kind(aliyun: Harness) -> None:
    """Acceptance and pickup notices go out under their own TemplateCodes with BizIds back."""
    first = await aliyun.channel.send(message(NoticeKind.CASE_ACCEPTED, message_id="m-1"))
    second = await aliyun.channel.send(message(NoticeKind.PICKUP_NOTICE, message_id="m-2"))
    sent = aliyun.accepted()
    assert [r["TemplateCode"] for r in sent] == ["SMS_0001", "SMS_0002"]
    assert [first.provider_message_id, second.provider_message_id] == [r["BizId"] for r in sent]
    assert sent[1]["TemplateParam"]["location"] == "市民中心B区3号窗口"


async def test_aliyun_kind_without_template_code_is_permanent_and_not_sent(aliyun: Harness) -> None:
    """A kind with no configured TemplateCode is refused locally, naming the config key."""
    with pytest.raises(PermanentError, match=r"channels\.sms\.aliyun\.templates\.urge"):
        await aliyun.channel.send(message(NoticeKind.URGE))
    assert aliyun.accepted() == []


async def test_aliyun_overlong_parameter_is_refused_locally(
    aliyun: Harness, session: aiohttp.ClientSession
) -> None:
    """A variable longer than Aliyun's limit is a permanent error before any request."""
    channel = aliyun.channel.__class__(
        aliyun_config(aliyun.fake.url, max_param_chars=10), session=session, clock=clock
    )
    with pytest.raises(ProviderPermanent) as caught:
        await channel.send(aliyun.message)
    assert caught.value.code == "isv.PARAM_LENGTH_LIMIT"


async def test_aliyun_timeout_is_delivery_unknown(aliyun: Harness) -> None:
    """After a timeout Aliyun may have sent the SMS: the error says reconcile, don't resend."""
    aliyun.fail("hang")
    with pytest.raises(DeliveryUnknown):
        await aliyun.channel.send(aliyun.message)


async def test_aliyun_answer_that_is_not_json_is_transient_and_quoted(aliyun: Harness) -> None:
    """A body that is not JSON (a proxy's page, bytes that are not UTF-8) is a transient
    error that quotes the start of the body; JSON that is not an object is one too."""
    aliyun.fail("garbled")
    with pytest.raises(ProviderTransient) as caught:
        await aliyun.channel.send(aliyun.message)
    assert "HTTP 200 with a body that is not JSON: '<html>网关错误\ufffd\ufffd</ht'" in str(
        caught.value
    )
    aliyun.fail("json_list")
    with pytest.raises(ProviderTransient) as caught:
        await aliyun.channel.send(aliyun.message)
    assert "HTTP 200: unexpected JSON '[1, 2]'" in str(caught.value)


async def test_unreachable_endpoint_is_plain_transient(session: aiohttp.ClientSession) -> None:
    """A refused connection certainly sent nothing: transient, not DeliveryUnknown."""
    channel = aliyun.AliyunSms(aliyun_config("http://127.0.0.1:9"), session=session, clock=clock)
    with pytest.raises(TransientError) as caught:
        await channel.send(message())
    assert not isinstance(caught.value, DeliveryUnknown)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", ProviderTransient),
        ("isp.SYSTEM_ERROR", ProviderTransient),
        ("isv.MOBILE_NUMBER_ILLEGAL", ProviderPermanent),
        ("isv.SMS_TEMPLATE_ILLEGAL", ProviderPermanent),
        ("isv.SMS_SIGNATURE_ILLEGAL", ProviderPermanent),
        ("isv.SOMETHING_NEW", ProviderTransient),
    ],
)
def test_aliyun_codes_map_through_one_table(code: str, error: type[Exception]) -> None:
    """Aliyun response codes classify per the adapter's table; unknown codes are transient."""
    with pytest.raises(error):
        aliyun.parse_response(aliyun_config("x"), message(), {"Code": code, "Message": "m"}, NOW)


# --- Tencent -----------------------------------------------------------------------


def test_tencent_authorization_matches_the_documented_vector() -> None:
    """Our TC3-HMAC-SHA256 reproduces Tencent's published CVM example signature."""
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    header = tencent.authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        content_type="application/json; charset=utf-8",
        payload=payload,
        timestamp=1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tencent_request_carries_action_headers_and_ordered_params() -> None:
    """SendSms goes out with X-TC-* headers, E.164 number and params in template order."""
    config = tencent_config("https://sms.tencentcloudapi.com")
    request = tencent.build_request(config, message(), timestamp=int(NOW.timestamp()))
    assert request.headers["X-TC-Action"] == "SendSms"
    assert request.headers["X-TC-Version"] == "2021-01-11"
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    assert request.headers["Host"] == "sms.tencentcloudapi.com"
    body = json.loads(request.body)
    assert body["PhoneNumberSet"] == ["+8613812345678"]
    assert body["SessionContext"] == "msg-0001"
    assert body["TemplateParamSet"][:2] == ["食品经营许可", "NJ20250312-0042"]


async def test_tencent_receipt_carries_serial_no_and_fee(tencent: Harness) -> None:
    """The receipt's id is the SerialNo and its segments the billed Fee."""
    receipt = await tencent.channel.send(tencent.message)
    (sent,) = tencent.accepted()
    assert receipt.provider_message_id == sent["SerialNo"]
    assert receipt.segments == 1


async def test_tencent_fake_rejects_a_wrong_key_as_permanent(
    tencent: Harness, session: aiohttp.ClientSession
) -> None:
    """A request signed with the wrong SecretKey fails AuthFailure.SignatureFailure."""
    channel = tencent.channel.__class__(
        tencent_config(tencent.fake.url, secret_key="wrong"), session=session, clock=clock
    )
    with pytest.raises(ProviderPermanent) as caught:
        await channel.send(tencent.message)
    assert caught.value.code == "AuthFailure.SignatureFailure"


async def test_tencent_clock_skew_is_transient(
    tencent: Harness, session: aiohttp.ClientSession
) -> None:
    """A timestamp over five minutes off gets SignatureExpire: retried once NTP is fixed."""
    skewed = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
    channel = tencent.channel.__class__(
        tencent_config(tencent.fake.url), session=session, clock=lambda: skewed
    )
    with pytest.raises(ProviderTransient) as caught:
        await channel.send(tencent.message)
    assert caught.value.code == "AuthFailure.SignatureExpire"


# --- the generic gateway -----------------------------------------------------------


async def test_gateway_receives_the_signed_text_and_our_id(http_gateway: Harness) -> None:
    """The default body carries the mobile, the text with its 【signature】 and our id."""
    receipt = await http_gateway.channel.send(http_gateway.message)
    (sent,) = http_gateway.accepted()
    assert sent["content"].startswith("【某市政务服务中心】您的食品经营许可申请已受理")
    assert sent["mobile"] == "13812345678"
    assert receipt.provider_message_id == sent["gateway_id"]
    assert receipt.segments == 2


async def test_gateway_wrong_token_is_permanent(
    http_gateway: Harness, session: aiohttp.ClientSession
) -> None:
    """A 401 from the gateway is permanent (fix the configured token)."""
    config = http_sms.HttpSmsConfig(url=f"{http_gateway.fake.url}/sms/send", timeout=0.3)
    with pytest.raises(PermanentError):
        await http_sms.HttpSms(config, session=session).send(http_gateway.message)


def test_gateway_body_template_with_bad_syntax_stops_start_up() -> None:
    """A body template that does not parse is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match="body_template"):
        http_sms.HttpSmsConfig(url="http://x", body_template="{{ mobile ")


def test_gateway_lookup_follows_dotted_paths() -> None:
    """Success and id paths reach into nested objects and lists."""
    payload = {"result": {"items": [{"id": 7}]}}
    assert http_sms.lookup(payload, "result.items.0.id") == 7
    assert http_sms.lookup(payload, "result.missing") is None


def test_aliyun_sends_only_the_part_of_a_link_after_the_registered_prefix() -> None:
    """With a link_prefix, TemplateParam carries the link's tail, which fits 35 characters."""
    import json as _json
    from urllib.parse import parse_qs

    from channels.aliyun import AliyunConfig, build_request
    from core.notices import OutboundMessage

    config = AliyunConfig(
        access_key_id="id",
        access_key_secret="secret",
        sign_name="某市",
        templates={"case_accepted": "SMS_1"},
        link_prefix="https://zw.example.gov.cn/wap/",
    )
    message = OutboundMessage(
        id="42",
        kind="case_accepted",
        channel="sms",
        recipient="13812345678",
        body="…",
        params={
            "case_no": "A-1",
            "link": "https://zw.example.gov.cn/wap/c1t2NJ20260302-0042.abcdefghijk",
        },
    )
    from datetime import UTC, datetime

    request = build_request(config, message, timestamp=datetime(2026, 3, 2, tzinfo=UTC), nonce="n")
    form = parse_qs(request.body.decode())
    assert _json.loads(form["TemplateParam"][0]) == {
        "case_no": "A-1",
        "link": "c1t2NJ20260302-0042.abcdefghijk",
    }
