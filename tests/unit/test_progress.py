"""Progress: which mode a run gets, and what log mode writes (the terminal is tested in e2e)."""

from __future__ import annotations

import io
import logging

import pytest

from aanlevering.progress import StageProgress, progress_mode


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_mode_follows_the_terminal_airflow_and_the_override() -> None:
    assert progress_mode(_Terminal(), {}) == "terminal"
    assert progress_mode(io.StringIO(), {}) == "log"
    assert progress_mode(_Terminal(), {"AIRFLOW_CTX_DAG_ID": "deliver-ldtr"}) == "log"
    assert progress_mode(_Terminal(), {"TERM": "dumb"}) == "log"
    assert progress_mode(io.StringIO(), {"AANLEVERING_PROGRESS": "terminal"}) == "terminal"
    assert progress_mode(_Terminal(), {"AANLEVERING_PROGRESS": "off"}) == "off"
    assert progress_mode(_Terminal(), {"AANLEVERING_PROGRESS": "auto"}) == "terminal"


def test_a_mistyped_mode_is_named_and_the_terminal_decides(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="aanlevering.progress")
    assert progress_mode(_Terminal(), {"AANLEVERING_PROGRESS": "terminl"}) == "terminal"
    assert progress_mode(io.StringIO(), {"AANLEVERING_PROGRESS": "terminl"}) == "log"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "AANLEVERING_PROGRESS='terminl'" in warnings[0]
    assert "terminal, log, off" in warnings[0]
    caplog.clear()
    progress_mode(_Terminal(), {"AANLEVERING_PROGRESS": "auto"})
    assert not caplog.records


def test_log_mode_writes_a_line_per_stage_and_rate_limits_notes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = io.StringIO()
    caplog.set_level(logging.INFO, logger="aanlevering.progress")
    with StageProgress("ldtr 2026-03", ("a", "b"), mode="log", stream=stream) as progress:
        with progress.stage("a"):
            progress.note("not yet: the interval has not passed")
        progress.interval = 0.0
        with progress.stage("b"):
            progress.note("1/2 files")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("ldtr 2026-03: stage 1/2 a done in ")
    assert lines[1] == "ldtr 2026-03: 1/2 files"
    assert lines[2].startswith("ldtr 2026-03: stage 2/2 b done in ")
    assert lines[3].startswith("ldtr 2026-03: done after ") and lines[3].endswith("(2/2 stages)")
    assert stream.getvalue() == ""  # log mode never writes to the stream itself


def test_a_failing_stage_is_reported_stopped_and_the_error_passes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aanlevering.progress")
    with pytest.raises(KeyError), StageProgress("x", ("a", "b"), mode="log") as progress:
        progress.switch("a")
        progress.switch("b")
        raise KeyError("boom")
    lines = [r.getMessage() for r in caplog.records]
    assert "stage 1/2 a done" in lines[0] and "stage 2/2 b stopped" in lines[1]
    assert "stopped after" in lines[2] and "(1/2 stages)" in lines[2]


def test_terminal_mode_draws_on_its_stream_and_ends_with_a_summary() -> None:
    stream = _Terminal()
    progress = StageProgress("nkr-borst 2026", ("a",), mode="terminal", stream=stream)
    with progress, progress.stage("a"):
        progress.note("[not markup] 3/4")
    text = stream.getvalue()
    assert "✓ a (" in text and "nkr-borst 2026: done after" in text


def test_off_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aanlevering.progress")
    stream = _Terminal()
    with StageProgress("x", ("a",), mode="off", stream=stream) as progress, progress.stage("a"):
        progress.note("n")
    assert stream.getvalue() == "" and caplog.records == []
