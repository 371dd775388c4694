"""The $export client against a real bulk-export server process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bulk_support import FIXTURES, BulkServer

from aanlevering.catalogue import load_catalogue
from aanlevering.extract import extract
from aanlevering.extract.bulk_client import BulkExportError, PollPolicy, bulk_export
from aanlevering.periods import Period

REPO = FIXTURES.parents[2]
FAST = PollPolicy(max_wait_seconds=30, default_interval=0.05, request_timeout=10)
Start = Callable[..., BulkServer]


def test_happy_path_downloads_every_file_and_the_extract_reads_it(
    tmp_path: Path, bulk_server: Start
) -> None:
    server = bulk_server("--polls", "2", "--retry-after", "0")
    out = tmp_path / "export"
    result = bulk_export(server.base_url, out, policy=FAST)

    names = sorted(p.name for p in result.files)
    assert names == [
        "Condition.1.ndjson",
        "Encounter.1.ndjson",
        "Observation.1.ndjson",
        "Patient.1.ndjson",
        "Procedure.1.ndjson",
    ]
    for path in result.files:
        original = FIXTURES / "fhir-nl" / f"{path.name.split('.')[0]}.ndjson"
        assert path.read_bytes() == original.read_bytes()
    assert not list(out.glob("*.part"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["output"]) == 5

    seen = server.requests()
    kickoff = seen[0]
    assert kickoff["path"] == "/fhir/$export"
    assert kickoff["headers"]["Accept"] == "application/fhir+json"
    assert kickoff["headers"]["Prefer"] == "respond-async"
    polls = [r for r in seen if r["method"] == "GET" and r["path"].startswith("/status/")]
    assert len(polls) == 3  # two 202s, then the manifest
    assert seen[-2]["method"] == "DELETE" and seen[-2]["path"] == polls[0]["path"]
    assert not any("Authorization" in r["headers"] for r in seen)

    config = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")
    extracted = extract(config, out, Period.parse("2026"))
    assert extracted.datasets["operatie"].clinical.column("operatie_id").to_pylist() == [
        "proc-1",
        "proc-2",
    ]
    assert extracted.datasets["operatie"].row_refs.to_pylist()[0] == "Procedure.1.ndjson:1"


def test_retry_after_is_honoured_between_polls(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--polls", "2", "--retry-after", "1")
    started = time.monotonic()
    bulk_export(server.base_url, tmp_path / "export", policy=FAST)
    elapsed = time.monotonic() - started
    assert elapsed >= 1.9  # two waits of one second each, not the 0.05 s default
    assert elapsed < 15


def test_patient_level_type_filter_and_since_are_sent(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server()
    result = bulk_export(
        server.base_url,
        tmp_path / "export",
        level="patient",
        types=["Patient", "Procedure"],
        since="2026-01-01T00:00:00Z",
        policy=FAST,
        delete_when_done=False,
    )
    assert sorted(p.name for p in result.files) == ["Patient.1.ndjson", "Procedure.1.ndjson"]
    seen = server.requests()
    assert seen[0]["path"] == "/fhir/Patient/$export"
    assert seen[0]["query"] == {"_type": "Patient,Procedure", "_since": "2026-01-01T00:00:00Z"}
    assert not any(r["method"] == "DELETE" for r in seen)


def test_a_refused_kick_off_reports_the_operation_outcome(
    tmp_path: Path, bulk_server: Start
) -> None:
    server = bulk_server()
    with pytest.raises(BulkExportError) as raised:
        bulk_export(server.base_url, tmp_path / "a", types=["Patient", "Spaceship"], policy=FAST)
    message = str(raised.value)
    assert raised.value.exit_code == 2
    assert "kick-off" in message and "HTTP 400" in message
    # The code, never the server's words (decision 0731).
    assert "error not-supported" in message and "details are withheld" in message
    assert "Spaceship" not in message
    with pytest.raises(
        BulkExportError, match=r"HTTP 404: OperationOutcome issue\(s\): error not-found"
    ):
        bulk_export(server.base_url, tmp_path / "b", level="group", group_id="unknown", policy=FAST)


def test_a_failed_job_reports_the_status_error(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--polls", "1", "--fail-status")
    with pytest.raises(BulkExportError) as raised:
        bulk_export(server.base_url, tmp_path / "export", policy=FAST)
    message = str(raised.value)
    assert "HTTP 500" in message and "error exception" in message
    # The diagnostics quote a patient: withheld (decision 0731).
    assert "0069386181" not in message and "Jansen" not in message and "1950" not in message
    assert "/status/" in message
    assert not list((tmp_path / "export").glob("*.ndjson"))


def test_transient_status_errors_are_retried(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--transient", "2", "--polls", "1", "--retry-after", "0")
    result = bulk_export(server.base_url, tmp_path / "export", policy=FAST)
    assert len(result.files) == 5
    polls = [
        r for r in server.requests() if r["path"].startswith("/status/") and r["method"] == "GET"
    ]
    assert len(polls) == 4


def test_an_export_that_never_finishes_times_out_and_is_cancelled(
    tmp_path: Path, bulk_server: Start
) -> None:
    server = bulk_server("--polls", "100000", "--retry-after", "0")
    policy = PollPolicy(max_wait_seconds=1.0, default_interval=0.05, request_timeout=10)
    with pytest.raises(BulkExportError) as raised:
        bulk_export(server.base_url, tmp_path / "export", policy=policy)
    message = str(raised.value)
    assert "not complete after 1 s" in message and "last progress: poll" in message
    assert any(r["method"] == "DELETE" for r in server.requests())


def test_files_that_require_a_token_get_it(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--token", "s3cret-test-token", "--error-file")
    with pytest.raises(BulkExportError, match="require an access token"):
        bulk_export(server.base_url, tmp_path / "without", policy=FAST)
    result = bulk_export(server.base_url, tmp_path / "with", token="s3cret-test-token", policy=FAST)
    assert len(result.files) == 5
    assert [p.name for p in result.error_files] == ["OperationOutcome.1.ndjson"]
    assert result.error_files[0].parent.name == "errors"
    downloads = [r for r in server.requests() if r["path"].startswith("/files/")]
    assert downloads and all(
        r["headers"].get("Authorization") == "Bearer s3cret-test-token" for r in downloads
    )
    # the saved export reads as before: errors/ and manifest.json are not data
    config = load_catalogue(REPO / "schemas" / "catalogue").get("nkr-borst")
    assert extract(config, tmp_path / "with", Period.parse("2026")).datasets["tumor"].num_rows == 1


def test_wrong_token_download_error_names_the_status(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--token", "right")
    with pytest.raises(BulkExportError) as raised:
        bulk_export(server.base_url, tmp_path / "export", token="wrong", policy=FAST)
    assert "HTTP 401" in str(raised.value) and "error login" in str(raised.value)
    assert "wrong" not in str(raised.value).replace("went wrong", "")


def test_a_folder_with_an_earlier_export_is_refused(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server()
    out = tmp_path / "export"
    bulk_export(server.base_url, out, policy=FAST)
    with pytest.raises(BulkExportError, match="already holds an export"):
        bulk_export(server.base_url, out, policy=FAST)


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server()
    server.process.terminate()
    server.process.communicate(timeout=10)
    with pytest.raises(BulkExportError, match="cannot reach"):
        bulk_export(server.base_url, tmp_path / "export", policy=FAST)


def test_the_fhir_export_command(tmp_path: Path, bulk_server: Start) -> None:
    server = bulk_server("--token", "cli-token")
    env = {**os.environ, "EXPORT_TOKEN": "cli-token"}
    command = [sys.executable, "-m", "aanlevering.cli.main", "fhir-export", "--base-url",
               server.base_url, "--out", str(tmp_path / "ok"), "--token-env", "EXPORT_TOKEN",
               "--type", "Patient,Procedure"]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Patient 1, Procedure 1" in done.stdout
    assert "cli-token" not in done.stdout + done.stderr

    command = [sys.executable, "-m", "aanlevering.cli.main", "fhir-export", "--base-url",
               server.base_url, "--out", str(tmp_path / "bad"), "--type", "Spaceship"]  # fmt: skip
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 2
    assert "HTTP 400" in failed.stderr and "error not-supported" in failed.stderr
    assert "not supported" not in failed.stderr  # the server's words stay out (0731)


def test_the_fhir_export_command_does_not_echo_the_servers_diagnostics(
    tmp_path: Path, bulk_server: Start
) -> None:
    """A failed job's diagnostics quote a patient; neither stderr nor the log repeats them."""
    server = bulk_server("--polls", "1", "--fail-status")
    command = [sys.executable, "-m", "aanlevering.cli.main", "fhir-export", "--base-url",
               server.base_url, "--out", str(tmp_path / "failed")]  # fmt: skip
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 2
    assert "HTTP 500" in failed.stderr and "error exception" in failed.stderr
    for quoted in ("0069386181", "Jansen", "1950-02-08"):
        assert quoted not in failed.stderr + failed.stdout
