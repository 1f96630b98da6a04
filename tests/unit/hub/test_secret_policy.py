"""Start-up refuses shipped, empty, short or shared secrets; --demo swaps them for random ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub import secret_policy
from hub.app import create_app
from hub.settings import Settings, load_settings

GOOD = (
    '[auth]\napi_keys = ["admin-key-of-this-centre", '
    '{key = "supervisor-key-of-the-centre", role = "supervisor"}]\n'
    'callback_token = "callback-token-of-the-centre"\n'
    'link_secret = "link-secret-of-the-centre"\n'
)


def settings_from(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "cuiban.toml"
    path.write_text(text, "utf-8")
    return load_settings(path, environ={})


def test_good_secrets_pass(tmp_path: Path) -> None:
    """Four distinct secrets of 16+ bytes: nothing to say."""
    assert secret_policy.problems(settings_from(tmp_path, GOOD)) == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "auth.api_keys[0] is the shipped default"),
        (GOOD.replace("callback-token-of-the-centre", "change-me-too"), "auth.callback_token"),
        (GOOD.replace("link-secret-of-the-centre", "0123456789abcde"), "auth.link_secret"),
        (GOOD.replace("supervisor-key-of-the-centre", "sup-key1"), "auth.api_keys[1]"),
        (
            GOOD.replace("link-secret-of-the-centre", "callback-token-of-the-centre"),
            "auth.link_secret is the same as auth.callback_token",
        ),
        (
            GOOD + '[webhooks]\nurls = ["https://approval.example/hook"]\n'
            'secret = "link-secret-of-the-centre"\n',
            "webhooks.secret is the same as auth.link_secret",
        ),
        (
            GOOD + '[webhooks]\nurls = ["https://approval.example/hook"]\nsecret = "short"\n',
            "webhooks.secret is shorter than 16 bytes",
        ),
    ],
)
def test_weak_or_shared_secrets_are_named(tmp_path: Path, text: str, named: str) -> None:
    """Each weak or shared secret is named by its config key; its value never appears."""
    settings = settings_from(tmp_path, text)
    with pytest.raises(ConfigError, match=r"^" + named.replace("[", r"\[").replace("]", r"\]")):
        secret_policy.check(settings)
    assert all("change-me" not in line for line in secret_policy.problems(settings))


def test_a_real_clock_refuses_to_build_the_hub_but_the_manual_clock_does_not(
    tmp_path: Path,
) -> None:
    """create_app refuses the shipped secrets on the system clock, accepts them on the manual."""
    with pytest.raises(ConfigError, match=r"auth\.api_keys"):
        create_app(settings_from(tmp_path, ""))
    manual = (
        f'[database]\ndata_dir = "{tmp_path / "data"}"\n'
        '[clock]\nmode = "manual"\nstart = "2026-03-02T09:00:00+08:00"\n'
    )
    create_app(settings_from(tmp_path, manual))


def test_demo_swaps_each_weak_secret_for_a_random_one_and_keeps_good_ones(tmp_path: Path) -> None:
    """--demo: the shipped secrets become random ones (an admin key to print); good ones stay."""
    made = secret_policy.for_demo(settings_from(tmp_path, ""))
    assert made.admin_key is not None and len(made.admin_key) >= 16
    assert secret_policy.problems(made.settings) == []
    assert [k.key.get_secret_value() for k in made.settings.auth.api_keys] == [made.admin_key]
    again = secret_policy.for_demo(settings_from(tmp_path, ""))
    assert again.admin_key != made.admin_key  # random each run

    kept = secret_policy.for_demo(settings_from(tmp_path, GOOD))
    assert kept.admin_key is None
    assert kept.settings.auth == settings_from(tmp_path, GOOD).auth
