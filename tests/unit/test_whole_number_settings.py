"""Tuning settings given as whole numbers: a mistyped one stops the run naming it."""

from __future__ import annotations

import pytest

from aanlevering.errors import ConfigError
from aanlevering.output import source_parts
from aanlevering.settings import whole_number_setting

NAME = "AANLEVERING_TEST_WHOLE_NUMBER"


def test_unset_or_blank_gives_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)
    assert whole_number_setting(NAME, 7, minimum=1) == 7
    monkeypatch.setenv(NAME, "  ")
    assert whole_number_setting(NAME, 7, minimum=1) == 7


def test_a_number_at_or_above_the_minimum_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, " 0 ")
    assert whole_number_setting(NAME, 7, minimum=0) == 0
    monkeypatch.setenv(NAME, "12")
    assert whole_number_setting(NAME, 7, minimum=1) == 12


@pytest.mark.parametrize("text", ["0", "-3", "2.5", "many", "1e3"])
def test_anything_else_is_refused_naming_the_setting_and_the_text(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(NAME, text)
    with pytest.raises(ConfigError) as refused:
        whole_number_setting(NAME, 7, minimum=1)
    assert str(refused.value) == f"{NAME} must be a whole number of at least 1, not {text!r}"


def test_the_minimise_limits_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(source_parts.MAX_ENV, "lots")
    with pytest.raises(ConfigError, match=f"{source_parts.MAX_ENV} must be a whole number"):
        source_parts.minimise_max_resources()
