"""Keys others may read are refused; what a run creates is private; no repr shows a key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.keys import read_secret_file, read_secret_text
from aanlevering.deliver.channels.factory import registry_holder_api_key
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.errors import ConfigError
from aanlevering.private_files import check_key_file, make_process_private
from aanlevering.pseudonym.ttp.client import TTPClient, load_api_key
from aanlevering.settings import load_settings

API_KEY = "hospital-api-key-0123456789abcdef"


def _key(tmp_path: Path, name: str, text: str, mode: int) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_every_key_reader_refuses_a_key_others_may_read(tmp_path: Path, mode: int) -> None:
    secret = _key(tmp_path, "ttp.secret", "ab" * 32, mode)
    api = _key(tmp_path, "api.key", API_KEY, mode)
    settings = load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / "home")}
    )
    readers = [
        lambda: read_secret_file(secret),  # the TTP's master keys
        lambda: read_secret_text(api),  # the TTP's forwarding key
        lambda: load_api_key({"AANLEVERING_TTP_API_KEY_FILE": str(api)}),  # hospital -> TTP
        lambda: registry_holder_api_key(
            settings, {"AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE": str(api)}
        ),
    ]
    for read in readers:
        with pytest.raises(ConfigError, match="accessible to group or others") as caught:
            read()
        assert API_KEY not in str(caught.value) and "abab" not in str(caught.value)
        assert f"mode {mode:o}" in str(caught.value)


def test_private_keys_are_read(tmp_path: Path) -> None:
    secret = _key(tmp_path, "ttp.secret", "ab" * 32, 0o600)
    api = _key(tmp_path, "api.key", API_KEY, 0o400)
    assert read_secret_file(secret) == bytes.fromhex("ab" * 32)
    assert load_api_key({"AANLEVERING_TTP_API_KEY_FILE": str(api)}) == API_KEY
    check_key_file(api, "API key")


def test_no_repr_shows_an_api_key() -> None:
    channel = HttpsChannel("http://127.0.0.1:1/deliveries", API_KEY)
    assert API_KEY not in repr(channel) and API_KEY not in str(channel)
    assert API_KEY not in repr(TTPClient("http://127.0.0.1:1", API_KEY))


def test_the_process_is_made_private_whatever_umask_it_started_with(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    os.umask(0o022)
    make_process_private(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    (home / "staging" / "x").mkdir(parents=True)
    (home / "staging" / "x" / "trauma.identity.arrow").write_bytes(b"...")
    for path in (
        home / "staging",
        home / "staging" / "x",
        home / "staging" / "x" / "trauma.identity.arrow",
    ):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    os.umask(0o022)
    load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(home)}
    )  # every entry point reads its settings
    current = os.umask(0o077)
    assert current == 0o077
