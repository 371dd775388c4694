"""init-config binds each hospital to its registrations; the config refuses unknown ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.config import load_config, read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document, write_demo_config
from aanlevering.errors import ConfigError


def test_hospitals_deliver_to_every_registration_or_to_the_ones_named(tmp_path: Path) -> None:
    setup = write_demo_config(tmp_path, hospitals=["hospital-a", "hospital-b:ldtr,nkr-borst"])
    config = load_config(setup.config)
    assert config.organisations["hospital-a"].registrations == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert config.organisations["hospital-b"].registrations == {"ldtr", "nkr-borst"}
    assert config.organisations["dica"].registrations == frozenset()
    assert set(setup.api_key_files) >= {"hospital-a", "hospital-b"}


def test_an_unknown_registration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        write_demo_config(tmp_path / "a", hospitals=["hospital-a:no-such-registration"])
    setup = write_demo_config(tmp_path / "b")
    document = read_config_document(setup.config)
    document["organisations"][0]["registrations"] = ["no-such-registration"]
    write_config_document(setup.config, document)
    with pytest.raises(ConfigError, match="no registration 'no-such-registration'"):
        load_config(setup.config)
