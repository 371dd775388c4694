"""TTP config loading (every problem named, nothing secret echoed), init-config and rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.auth import Authenticator, hash_api_key
from aanlevering.counterparts.ttp.config import load_config, read_config_document
from aanlevering.counterparts.ttp.demo_config import (
    DemoRegistration,
    parse_registration,
    registrations_from_catalogue,
    write_config_document,
    write_demo_config,
)
from aanlevering.counterparts.ttp.keys import KeyRing
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.counterparts.ttp.rotation import retire, rotate
from aanlevering.errors import ConfigError
from aanlevering.settings import checkout_root


def test_demo_config_loads_and_its_keys_authenticate(tmp_path: Path) -> None:
    setup = write_demo_config(tmp_path / "ttp")
    config = load_config(setup.config)

    assert set(config.registrations) == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert config.registrations["ldtr"].registry_holder == "lnaz"
    assert config.registrations["dica-dsaa"].active_version == 1
    assert not config.fault_injection
    authenticator = Authenticator(config.organisations)
    for organisation, key_file in setup.api_key_files.items():
        assert authenticator.authenticate(key_file.read_text().strip()).id == organisation
        assert (key_file.stat().st_mode & 0o777) == 0o600
    with pytest.raises(Refusal) as refused:
        authenticator.authenticate("guess")
    assert refused.value.status == 401
    # The config holds hashes only.
    text = setup.config.read_text()
    assert all(path.read_text().strip() not in text for path in setup.api_key_files.values())


def test_init_config_refuses_to_overwrite(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        write_demo_config(tmp_path)


def test_registrations_can_come_from_the_catalogue_or_the_command_line() -> None:
    root = checkout_root()
    assert root is not None
    from_catalogue = registrations_from_catalogue(root / "schemas" / "catalogue")
    assert {r.id: r.registry_holder for r in from_catalogue} == {
        "dica-dsaa": "dica",
        "ldtr": "lnaz",
        "nkr-borst": "iknl",
    }
    assert parse_registration("ldtr:lnaz:NGG,C,MRN") == DemoRegistration(
        "ldtr", "lnaz", ("NGG", "C", "MRN")
    )
    with pytest.raises(ConfigError, match="ID:REGISTRY_HOLDER"):
        parse_registration("ldtr:NGG")


def test_config_problems_are_all_listed_without_echoing_values(tmp_path: Path) -> None:
    setup = write_demo_config(tmp_path)
    document = read_config_document(setup.config)
    clear_key = "this-is-a-clear-api-key-pasted-by-mistake"
    document["organisations"][0]["api_key_sha256"] = clear_key
    document["registrations"][1]["registry_holder"] = "demo-hospital"
    document["registrations"][2]["keys"].append({"version": 2, "status": "active"})
    write_config_document(setup.config, document)

    with pytest.raises(ConfigError) as error:
        load_config(setup.config)
    message = str(error.value)
    assert "$.organisations[0].api_key_sha256" in message
    assert clear_key not in message

    document["organisations"][0]["api_key_sha256"] = hash_api_key("k")
    write_config_document(setup.config, document)
    with pytest.raises(ConfigError) as error:
        load_config(setup.config)
    message = str(error.value)
    assert "2 problem(s)" in message
    assert "$.registrations[1].registry_holder" in message
    assert "$.registrations[2].keys: exactly one key version must be active" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ttp.yaml"
    path.write_text("organisations:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"ttp.yaml: invalid YAML at line \d+"):
        load_config(path)


def test_rotate_and_retire(tmp_path: Path) -> None:
    setup = write_demo_config(tmp_path)

    assert rotate(setup.config, "ldtr") == 2
    config = load_config(setup.config)
    keys = {k.version: k for k in config.registrations["ldtr"].keys}
    assert (keys[1].status, keys[2].status) == ("transition", "active")
    assert keys[1].secret_file is None  # derived from the master key
    assert keys[2].secret_file == tmp_path / "keys" / "ldtr-v2.key"
    assert (keys[2].secret_file.stat().st_mode & 0o777) == 0o600
    assert config.registrations["dica-dsaa"].active_version == 1
    ring = KeyRing(config)
    assert ring.active("ldtr").version == 2
    assert ring.version("ldtr", 1).status == "transition"

    with pytest.raises(ConfigError, match="rotate first"):
        retire(setup.config, "ldtr", 2)
    retire(setup.config, "ldtr", 1)
    with pytest.raises(Refusal) as refused:
        KeyRing(load_config(setup.config)).version("ldtr", 1)
    assert refused.value.code == "retired_key_version"
    with pytest.raises(ConfigError, match="no registration 'nope'"):
        rotate(setup.config, "nope")
