"""The registry holder's CLI refuses key files others may read, as every other key reader does."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.errors import ConfigError


def _key(path: Path, mode: int) -> Path:
    path.write_text("a-forwarder-key\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_readable_forwarder_key_file_is_refused_naming_file_and_mode(tmp_path: Path) -> None:
    loose = _key(tmp_path / "forwarder.key", 0o644)
    with pytest.raises(
        ConfigError, match=r"forwarder.key is accessible to group or others \(mode 644\)"
    ):
        write_demo_config(
            tmp_path / "rh", "hospital-a", ["ldtr"], forwarder_key_files={"lnaz": loose}
        )


def test_an_existing_hospital_key_file_must_be_private_too(tmp_path: Path) -> None:
    out = tmp_path / "rh"
    out.mkdir()
    _key(out / "hospital-a.api-key", 0o640)
    with pytest.raises(ConfigError, match=r"hospital-a\.api-key"):
        write_demo_config(out, "hospital-a", ["ldtr"])


def test_private_key_files_are_read(tmp_path: Path) -> None:
    private = _key(tmp_path / "forwarder.key", 0o600)
    config = write_demo_config(
        tmp_path / "rh", "hospital-a", ["ldtr"], forwarder_key_files={"lnaz": private}
    )
    assert config.is_file()
    assert "a-forwarder-key" not in config.read_text(encoding="utf-8")  # only its hash
