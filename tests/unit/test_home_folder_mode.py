"""AANLEVERING_HOME's mode is changed only when the folder is clearly aanlevering's own (0700-0704).

The incident: run as root with ``AANLEVERING_HOME`` at an existing file or
system folder, every entry point narrowed it to 0700 (``/etc/passwd`` became
0700 and nothing could look up a user any more). Every path here is a
temporary file or folder of the test, never a system path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.errors import ConfigError
from aanlevering.obligation.rules import RULES_FILE as OBLIGATION_RULES_FILE
from aanlevering.optout.rules import RULES_FILE as OPTOUT_RULES_FILE
from aanlevering.private_files import HOME_ENTRIES, is_file_system_root, make_process_private
from aanlevering.projections import PROJECTIONS_FILE
from aanlevering.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_home_that_is_a_file_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    file.chmod(0o644)
    with pytest.raises(ConfigError) as caught:
        load_settings({"AANLEVERING_HOME": str(file)})
    message = str(caught.value)
    assert "AANLEVERING_HOME" in message and str(file) in message
    assert "is not a folder" in message
    assert _mode(file) == 0o644


def test_the_command_line_exits_2_on_a_home_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "group"
    file.write_text("root:x:0:\n", encoding="utf-8")
    file.chmod(0o644)
    monkeypatch.setenv("AANLEVERING_HOME", str(file))
    assert main(["registrations", "list"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert _mode(file) == 0o644


def test_a_shared_folder_with_other_files_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / "jansen-bsn-123456782.csv").write_text("x", encoding="utf-8")
    (shared / "staging").mkdir()  # one of ours does not make the rest ours
    with pytest.raises(ConfigError) as caught:
        load_settings({"AANLEVERING_HOME": str(shared)})
    message = str(caught.value)
    assert "AANLEVERING_HOME" in message and str(shared) in message
    assert "readable" in message  # why: identifiers would be readable by others
    assert "chmod 700" in message and "folder of its own" in message  # what to do
    assert "jansen" not in message  # a foreign file's name may be an identifier
    assert _mode(shared) == 0o755


def test_an_empty_folder_is_narrowed_as_a_new_docker_volume_is(tmp_path: Path) -> None:
    volume = tmp_path / "var-lib-aanlevering"
    volume.mkdir()
    volume.chmod(0o755)
    load_settings({"AANLEVERING_HOME": str(volume)})
    assert _mode(volume) == 0o700


def test_a_folder_holding_only_what_aanlevering_makes_there_is_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "var"
    home.mkdir()
    home.chmod(0o755)
    for name in ("staging", "reports", "secrets", "airflow", "logs", "demo", "lost+found"):
        (home / name).mkdir()
    for name in ("events.sqlite3", "events.sqlite3-wal", PROJECTIONS_FILE, OPTOUT_RULES_FILE):
        (home / name).write_text("", encoding="utf-8")
    load_settings({"AANLEVERING_HOME": str(home)})
    assert _mode(home) == 0o700


def test_a_private_folder_is_used_whatever_it_holds(tmp_path: Path) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    home.chmod(0o700)
    (home / "notes.txt").write_text("x", encoding="utf-8")
    assert load_settings({"AANLEVERING_HOME": str(home)}).home == home.resolve()
    assert _mode(home) == 0o700


def test_a_missing_home_is_no_error(tmp_path: Path) -> None:
    make_process_private(tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()


def test_the_file_system_root_is_recognised_so_it_is_never_narrowed(tmp_path: Path) -> None:
    # A pure path comparison: the real root is never stat'ed or changed here.
    assert is_file_system_root(Path("/"))
    assert not is_file_system_root(tmp_path)


def test_every_top_level_name_the_code_uses_counts_as_aanlevering_s_own(tmp_path: Path) -> None:
    settings = load_settings({"AANLEVERING_HOME": str(tmp_path / "home")})
    used = {
        settings.staging_dir.name,
        settings.reports_dir.name,
        settings.secrets_dir.name,
        settings.airflow_home.name,
        Path(settings.event_store_url.removeprefix("sqlite:///")).name,
        PROJECTIONS_FILE,
        OPTOUT_RULES_FILE,
        OBLIGATION_RULES_FILE,
    }
    assert used <= HOME_ENTRIES
    # and what scripts/services.sh and scripts/run.sh make there
    assert {"run", "tls", "ttp", "registry-holder", "outbox", "demo", "logs"} <= HOME_ENTRIES


def test_the_umask_is_still_set_when_the_home_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("", encoding="utf-8")
    os.umask(0o022)
    with pytest.raises(ConfigError):
        make_process_private(file)
    assert os.umask(0o077) == 0o077


def _open_folder_of_another_account(tmp_path: Path) -> Path:
    """An open folder this process does not own: made so as root, else the system's ``/tmp``."""
    if os.geteuid() == 0:
        folder = tmp_path / "someone-elses"
        folder.mkdir()
        os.chown(folder, 65534, 65534)
        folder.chmod(0o755)
        return folder
    return Path("/tmp")  # owned by root, 1777: open and not ours when not root


def test_an_open_home_of_another_account_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    folder = _open_folder_of_another_account(tmp_path)
    before = _mode(folder)
    assert folder.stat().st_uid != os.geteuid() and before & 0o077
    with pytest.raises(ConfigError) as caught:
        load_settings({"AANLEVERING_HOME": str(folder)})
    message = str(caught.value)
    assert "AANLEVERING_HOME" in message and "belongs to another account" in message
    assert _mode(folder) == before


def test_a_closed_home_of_another_account_is_used_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "closed"
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
    load_settings({"AANLEVERING_HOME": str(folder)})
    assert _mode(folder) == 0o700
