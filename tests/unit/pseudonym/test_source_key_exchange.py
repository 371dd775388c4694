"""Sharing a registration's source key between hospitals: export, import, check values, rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.key_check import key_check_value, source_key_check
from aanlevering.pseudonym.keys import (
    ensure_demo_keys,
    export_source_key,
    import_source_key,
    load_keys,
    source_key_path,
)
from aanlevering.pseudonym.source_step import SourceKey, new_key_json
from aanlevering.settings import Settings, load_settings


def _home(tmp_path: Path, name: str) -> Settings:
    settings = load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / name)}
    )
    ensure_demo_keys(settings, ["ldtr"])
    return settings


def test_check_value_is_equal_for_equal_keys_only() -> None:
    key = SourceKey("ldtr", 1, bytes(range(64)))
    assert key_check_value(key) == key_check_value(SourceKey("ldtr", 1, bytes(range(64))))
    assert key_check_value(key) != key_check_value(SourceKey("ldtr", 1, bytes(64)))
    assert key_check_value(key) != key_check_value(SourceKey("ldtr", 2, bytes(range(64))))
    assert len(key_check_value(key)) == 16
    assert key_check_value(key) not in bytes(range(64)).hex()  # not a piece of the secret


def test_export_then_import_gives_the_other_hospital_the_same_key(tmp_path: Path) -> None:
    a, b = _home(tmp_path, "a"), _home(tmp_path, "b")
    key_a, _ = load_keys(a, "ldtr")
    assert source_key_check(load_keys(b, "ldtr")[0]) != source_key_check(key_a)
    out = tmp_path / "ldtr.source-key.json"
    check = export_source_key(a, "ldtr", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert document["version"] == 1 and document["check_value"] == check.check_value
    # B already has a (different) demo key of the same version: refused, naming both values.
    with pytest.raises(ConfigError, match=rf"version 1.*{check.check_value}"):
        import_source_key(b, out)
    done = import_source_key(b, out, replace=True)
    assert (done.registration, done.version, done.check_value) == ("ldtr", 1, check.check_value)
    assert source_key_check(load_keys(b, "ldtr")[0]) == check
    assert stat.S_IMODE(source_key_path(b, "ldtr").stat().st_mode) == 0o600
    assert import_source_key(b, out).unchanged  # importing again changes nothing
    with pytest.raises(ConfigError, match="already exists"):
        export_source_key(a, "ldtr", out)


def test_a_damaged_export_is_refused(tmp_path: Path) -> None:
    a = _home(tmp_path, "a")
    out = tmp_path / "export.json"
    export_source_key(a, "ldtr", out)
    document = json.loads(out.read_text())
    document["check_value"] = "0" * 16
    out.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="damaged or was edited"):
        import_source_key(_home(tmp_path, "b"), out)


def test_rotation_a_newer_version_replaces_the_installed_key(tmp_path: Path) -> None:
    a, b = _home(tmp_path, "a"), _home(tmp_path, "b")
    v1 = tmp_path / "v1.json"
    export_source_key(a, "ldtr", v1)
    import_source_key(b, v1, replace=True)
    # The TTP hands out version 2; hospital A installs it and passes it on.
    source_key_path(a, "ldtr").write_text(new_key_json(version=2, registration="ldtr"))
    v2 = tmp_path / "v2.json"
    check = export_source_key(a, "ldtr", v2)
    done = import_source_key(b, v2)
    assert (done.version, done.replaced_version) == (2, 1)
    assert source_key_check(load_keys(b, "ldtr")[0]) == check
    with pytest.raises(ConfigError, match="Only a newer version replaces it"):
        import_source_key(b, v1)


def test_cli_export_import_and_check_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "a"))
    assert main(["keys", "init-demo"]) == 0
    out = tmp_path / "ldtr.json"
    assert main(["keys", "export", "--registration", "ldtr", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["keys", "check-values"]) == 0
    at_a = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "b"))
    assert main(["keys", "import", str(out)]) == 0
    assert "installed source key ldtr version 1" in capsys.readouterr().out
    assert main(["keys", "check-values"]) == 0
    at_b = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert at_b["ldtr"] == at_a["ldtr"]  # the same key: the same version and check value
    assert at_b["dica-dsaa"].endswith("no source key installed")
    assert main(["keys", "export", "--registration", "ldtr", "--out", str(out)]) == 2
