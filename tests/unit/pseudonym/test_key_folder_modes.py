"""Key and run folders we make are 0700; folders (and files) we did not make keep their mode.

Why (decisions 0700-0704): a folder that already exists may be a mount point,
a shared or a system folder; changing its mode is not aanlevering's to do. The
key file itself is created 0600 (O_EXCL), whatever the folder it lands in.
All paths are temporary ones of the test.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.counterparts.common.demo_ca import make_demo_ca
from aanlevering.pipeline.state import make_private_dir
from aanlevering.private_files import make_private_folder
from aanlevering.pseudonym.keys import ensure_demo_keys, mrn_key_path, source_key_path
from aanlevering.pseudonym.patient_ref import KEY_FILE_NAME, load_or_create_key
from aanlevering.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A process umask that would leave new folders 0755 unless the code sets 0700 itself."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _shared_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    path.chmod(0o755)
    return path


def test_demo_keys_leave_an_existing_secrets_folder_as_it_is(tmp_path: Path) -> None:
    settings = load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / "home")}
    )
    _shared_folder(settings.secrets_dir)  # e.g. a volume mounted there
    os.umask(0o022)
    ensure_demo_keys(settings, ["ldtr"])
    assert _mode(settings.secrets_dir) == 0o755
    assert _mode(mrn_key_path(settings)) == 0o600
    assert _mode(source_key_path(settings, "ldtr")) == 0o600
    assert _mode(source_key_path(settings, "ldtr").parent) == 0o700  # made by us


def test_demo_keys_make_missing_folders_private_whatever_the_umask(tmp_path: Path) -> None:
    settings = load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / "home")}
    )
    os.umask(0o022)
    ensure_demo_keys(settings, ["ldtr"])
    assert _mode(settings.secrets_dir) == 0o700
    assert _mode(source_key_path(settings, "ldtr").parent) == 0o700


def test_a_patient_reference_key_leaves_an_existing_folder_as_it_is(
    tmp_path: Path, open_umask: None
) -> None:
    folder = _shared_folder(tmp_path / "secrets")
    load_or_create_key(folder / KEY_FILE_NAME)
    assert _mode(folder) == 0o755
    assert _mode(folder / KEY_FILE_NAME) == 0o600


def test_a_patient_reference_key_makes_missing_folders_private(
    tmp_path: Path, open_umask: None
) -> None:
    key = tmp_path / "a" / "b" / KEY_FILE_NAME
    load_or_create_key(key)
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700
    assert _mode(key) == 0o600


def test_private_folders_are_made_0700_and_existing_ones_kept(
    tmp_path: Path, open_umask: None
) -> None:
    existing = _shared_folder(tmp_path / "existing")
    make_private_folder(existing / "x" / "y")
    assert _mode(existing) == 0o755
    assert _mode(existing / "x") == 0o700 and _mode(existing / "x" / "y") == 0o700
    make_private_dir(existing)
    assert _mode(existing) == 0o755
    make_private_dir(tmp_path / "run" / "out")
    assert _mode(tmp_path / "run") == 0o700 and _mode(tmp_path / "run" / "out") == 0o700


def test_the_demo_ca_writes_its_keys_as_new_files_not_through_a_link(
    tmp_path: Path, open_umask: None
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not a key\n", encoding="utf-8")
    elsewhere.chmod(0o644)
    folder = tmp_path / "tls"
    folder.mkdir()
    (folder / "server.key").symlink_to(elsewhere)
    ca = make_demo_ca(folder, clients=("demo-hospital",))
    assert elsewhere.read_text(encoding="utf-8") == "not a key\n"
    assert _mode(elsewhere) == 0o644
    assert not ca.server_key.is_symlink()
    assert _mode(ca.server_key) == 0o600
    assert "PRIVATE KEY" in ca.server_key.read_text(encoding="utf-8")
    assert _mode(ca.clients["demo-hospital"][1]) == 0o600
