"""configs/messages.toml is validated: bad templates, windows and zones are refused with the key named."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from engine.config import CONFIG_DIR, parse_config
from engine.errors import ConfigError
from engine.messages import MessagesConfig


def shipped() -> dict[str, Any]:
    with (CONFIG_DIR / "messages.toml").open("rb") as fh:
        return tomllib.load(fh)


def check(data: dict[str, Any]) -> MessagesConfig:
    return parse_config(data, MessagesConfig, "messages.toml")


def test_shipped_config_has_a_right_to_left_language() -> None:
    config = check(shipped())
    assert {lang.direction for lang in config.languages.values()} == {"ltr", "rtl"}
    assert config.max_units == 160


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("languages", "en", "with_name"), "Hi {name}, buy {item1} for {stars}", "missing field"),
        (("languages", "en", "with_name"), "Hi {nam} {item1} {item2} {stretch} {stars}", "unknown field"),
        (("languages", "en", "without_name"), "{name} {item1} {item2} {stretch} {stars}", "must not use"),
        (("languages", "en", "with_name"), "{item1} {item2} {stretch} {stars}", "must use {name}"),
        (
            ("languages", "en", "with_name"),
            "{name} {item1} {item1} {item2} {stretch} {stars}",
            "more than once",
        ),
        (("languages", "en", "with_name"), "{name} {item1 {item2} {stretch} {stars}", "not a valid template"),
        (
            ("languages", "fa", "without_name"),
            "x" * 150 + "{item1}{item2}{stretch}{stars}",
            "too little room",
        ),
        (("languages", "en", "without_name"), "Cafe\u0301 {item1}{item2}{stretch}{stars}", "NFC"),
        (("languages", "fa", "direction"), "down", "direction"),
        (("send_window", "default_time_zone"), "Asia/Teheran", "IANA time zone"),
        (("send_window", "end_hour"), 9, "before end_hour"),
        (("send_window", "days"), [], "at least 1"),
        (("default_language",), "de", "has no templates"),
        (("max_units",), 60, "too little room"),
    ],
)
def test_bad_values_are_refused_naming_the_key(path: tuple[str, ...], value: object, message: str) -> None:
    data = shipped()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as info:
        check(data)
    assert message in str(info.value)
    assert "messages.toml" in str(info.value)


def test_unknown_key_refused() -> None:
    data = shipped()
    data["send_window"]["timezone"] = "UTC"
    with pytest.raises(ConfigError, match="timezone"):
        check(data)
