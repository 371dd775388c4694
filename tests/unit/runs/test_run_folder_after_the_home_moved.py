"""A task handed its run folder's old path after AANLEVERING_HOME moved says so (0658).

The next task of a DAG run gets the folder path the previous task returned.
When the home was moved or renamed in between, that path is this run's own by
its name, under a staging folder that is no longer this home's: the task is
refused as before, and now also asks whether the home moved, naming this
home's staging folder (a planted folder looks the same, so the XCom stays asked).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.periods import Period
from aanlevering.pipeline.stages import initial_values
from aanlevering.pipeline.state import GIVEN_RUN_ID, run_folder_path
from aanlevering.runs.folder import RunFolder
from aanlevering.runs.steps import check_own_folder

RUN_ID = "scheduled__2026-04-01T00:00:00+00:00"


def _started(home: Path, registration: str) -> Path:
    path = run_folder_path(home / "staging", "demo-hospital", registration, "2026-Q1", RUN_ID)
    RunFolder(path).update(
        **initial_values(
            registration_id=registration,
            period=Period.parse("2026-Q1"),
            run_id=path.name.removeprefix("run-"),
            today=date(2026, 4, 2),
            input_path=home / "input",
            outbox=None,
            allow_open_period=False,
        ),
        **{GIVEN_RUN_ID: RUN_ID},
    )
    return path


def test_the_old_path_after_a_move_names_the_home_not_an_edited_xcom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_home, new_home = tmp_path / "var", tmp_path / "var-moved"
    old_path = _started(old_home, "dica-dsaa")
    old_home.rename(new_home)
    monkeypatch.setenv("AANLEVERING_HOME", str(new_home))

    with pytest.raises(ConfigError) as moved:
        check_own_folder(RunFolder(old_path), "extract", "dica-dsaa", RUN_ID)
    assert "AANLEVERING_HOME moved" in str(moved.value)
    assert str(new_home / "staging") in str(moved.value) and str(old_path) not in str(moved.value)

    # Another registration's folder is only an edited XCom, under any home.
    other = _started(new_home, "ldtr")
    with pytest.raises(ConfigError, match="XCom edited") as edited:
        check_own_folder(RunFolder(other), "extract", "dica-dsaa", RUN_ID)
    assert "AANLEVERING_HOME" not in str(edited.value)
    # And the moved folder itself, handed over by its new path, is this run's own.
    moved_path = new_home / old_path.relative_to(old_home)
    check_own_folder(RunFolder(moved_path), "extract", "dica-dsaa", RUN_ID)
