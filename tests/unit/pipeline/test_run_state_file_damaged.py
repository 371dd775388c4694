"""A damaged ``run.json`` (a power cut during a step) is a clear error, not a JSON trace.

The state file is replaced atomically and, since this change, fsynced before the
rename; a file damaged all the same (another filesystem, a disk error) names the
folder and says how to go on, and never shows what the file held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.pipeline.state import STATE_FILE, JsonStateFile


def test_a_state_written_is_read_back_whole(tmp_path: Path) -> None:
    state = JsonStateFile(tmp_path / "run-abc")
    state.update({"registration": "ldtr", "period": "2026-03"})
    state.update({"status": "staged"})
    assert state.read() == {"registration": "ldtr", "period": "2026-03", "status": "staged"}
    assert not list((tmp_path / "run-abc").glob("*.tmp"))


@pytest.mark.parametrize("damage", ["", '{"registration": "ldtr", "peri', "\x00\x00\x00"])
def test_a_damaged_state_names_the_folder_and_what_to_do(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "run-abc"
    state = JsonStateFile(folder)
    state.update({"registration": "ldtr"})
    (folder / STATE_FILE).write_text(damage, encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        state.read()
    said = str(refused.value)
    assert str(folder) in said and "damaged" in said and "clear the whole run" in said
    assert "peri" not in said
    with pytest.raises(ConfigError):
        state.update({"status": "staged"})  # nothing is merged into a state it cannot read
