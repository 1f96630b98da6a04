"""Aliyun's SendSms query built in its fixed order equals the generic canonical query."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from channels import aliyun

# Any text Aliyun could be handed: CJK, spaces, reserved characters, control characters.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
variables = st.dictionaries(st.text(min_size=1, max_size=12), text, max_size=6)


@given(
    key_id=text,
    region=text,
    sign_name=text,
    template_code=text,
    out_id=text,
    phone=text,
    nonce=text,
    values=variables,
    timestamp=text,
)
def test_send_sms_query_is_the_canonical_query_of_its_parameters(
    key_id: str,
    region: str,
    sign_name: str,
    template_code: str,
    out_id: str,
    phone: str,
    nonce: str,
    values: dict[str, str],
    timestamp: str,
) -> None:
    """The fast SendSms query is byte for byte canonical_query of the same parameters."""
    config = aliyun.AliyunConfig(
        access_key_id=key_id, access_key_secret="s", sign_name=sign_name, region_id=region
    )
    param = aliyun.template_param(values)
    params = {
        "AccessKeyId": key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": out_id,
        "PhoneNumbers": phone,
        "RegionId": region,
        "SignName": sign_name,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce,
        "SignatureVersion": "1.0",
        "TemplateCode": template_code,
        "TemplateParam": param,
        "Timestamp": timestamp,
        "Version": aliyun.API_VERSION,
    }
    fast = aliyun.send_sms_query(
        config,
        template_code,
        out_id=out_id,
        phone_numbers=phone,
        nonce=nonce,
        template_param=param,
        timestamp=timestamp,
    )
    assert fast == aliyun.canonical_query(params)


@given(values=variables)
def test_template_param_is_compact_json_with_text_as_it_is(values: dict[str, str]) -> None:
    """TemplateParam is the standard library's compact JSON without \\u escapes of text."""
    assert aliyun.template_param(values) == json.dumps(
        values, ensure_ascii=False, separators=(",", ":")
    )


def test_template_param_of_a_lone_surrogate_still_encodes() -> None:
    """Text orjson refuses (a lone surrogate) is encoded by the standard library instead."""
    assert aliyun.template_param({"name": "\ud800"}) == '{"name":"\ud800"}'
