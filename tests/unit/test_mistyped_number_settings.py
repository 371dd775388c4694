"""Settings given as seconds or days: a mistyped one stops the command naming it.

Before, ``AANLEVERING_RUN_LOCK_WAIT=30s`` or ``AANLEVERING_STAGING_RETENTION_DAYS=7d``
ended a run or a purge as "internal error: ValueError ... (a bug)", exit 4, and a
negative or ``nan`` retention was taken as given (``nan`` never purges anything).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.deliver.staging import retention_days
from aanlevering.errors import ConfigError
from aanlevering.pipeline.stages import lock_wait_seconds
from aanlevering.settings import number_setting

NAME = "AANLEVERING_TEST_NUMBER"


def test_unset_blank_whole_and_fractional_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert number_setting(NAME, 7, 0, env={}) == 7
    assert number_setting(NAME, 7, 0, env={NAME: " "}) == 7
    assert number_setting(NAME, 7, 0, env={NAME: "0"}) == 0
    assert number_setting(NAME, 7, 0, env={NAME: " 0.5 "}) == 0.5
    monkeypatch.setenv(NAME, "12")
    assert number_setting(NAME, 7, 0) == 12


@pytest.mark.parametrize("text", ["7d", "-1", "nan", "inf", "1,5"])
def test_anything_else_is_refused_naming_setting_and_text(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        number_setting(NAME, 7, 0, env={NAME: text})
    assert str(refused.value) == f"{NAME} must be a number of at least 0, not {text!r}"


def test_the_lock_wait_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AANLEVERING_RUN_LOCK_WAIT", "0")
    assert lock_wait_seconds() == 0
    monkeypatch.delenv("AANLEVERING_RUN_LOCK_WAIT")
    assert lock_wait_seconds() == 30
    monkeypatch.setenv("AANLEVERING_RUN_LOCK_WAIT", "30s")
    with pytest.raises(ConfigError, match="AANLEVERING_RUN_LOCK_WAIT must be a number"):
        lock_wait_seconds()


def test_the_staging_retention_is_checked() -> None:
    assert retention_days({}) == 7
    assert retention_days({"AANLEVERING_STAGING_RETENTION_DAYS": "0.5"}) == 0.5
    for text in ("7d", "-1", "nan"):
        with pytest.raises(ConfigError, match="AANLEVERING_STAGING_RETENTION_DAYS must be"):
            retention_days({"AANLEVERING_STAGING_RETENTION_DAYS": text})


def test_staging_purge_exits_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    monkeypatch.setenv("AANLEVERING_STAGING_RETENTION_DAYS", "7d")
    assert main(["staging", "purge"]) == 2
    error = capsys.readouterr().err
    assert "AANLEVERING_STAGING_RETENTION_DAYS must be a number of at least 0, not '7d'" in error
    assert "internal error" not in error


@pytest.mark.parametrize("text", ["-1", "nan", "inf"])
def test_staging_purge_refuses_a_nonsense_older_than_days(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    # -1 removed every failed run's folder kept for inspection; nan removed nothing, silently.
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as stopped:
        main(["staging", "purge", "--older-than-days", text])
    assert stopped.value.code == 2
    assert "--older-than-days: a number of days of at least 0" in capsys.readouterr().err
