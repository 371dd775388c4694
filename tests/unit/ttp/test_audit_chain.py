"""The hash-chained audit log: appends verify, any edit, removal or insertion is found by line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from aanlevering.counterparts.common.audit import GENESIS, ChainedAuditLog, verify_chain
from aanlevering.counterparts.ttp.audit import AuditEntry, AuditLog

BSN = "123456782"


def _write(path: Path, count: int) -> None:
    log = ChainedAuditLog(path)
    for index in range(count):
        log.append({"who": "demo-hospital", "endpoint": "/ledger", "n": index})
    log.close()


def test_chain_verifies_and_continues_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 3)
    _write(path, 2)  # a new process continues the chain from the last line
    count, problems = verify_chain(path)
    assert (count, problems) == (5, [])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["prev"] == GENESIS
    assert [line["prev"] for line in lines[1:]] == [line["hash"] for line in lines[:-1]]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_edited_removed_and_inserted_lines_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4)
    original = path.read_text().splitlines()

    edited = original.copy()
    edited[1] = edited[1].replace('"n":1', '"n":7')
    path.write_text("\n".join(edited) + "\n")
    assert verify_chain(path)[1] == [f"{path}: line 2: content does not match its hash"]

    path.write_text("\n".join(original[:1] + original[2:]) + "\n")
    assert verify_chain(path)[1] == [f"{path}: line 2: does not follow line 1"]

    forged = json.loads(original[1])
    path.write_text("\n".join([original[0], json.dumps(forged), *original[1:]]) + "\n")
    assert f"{path}: line 3: does not follow line 2" in verify_chain(path)[1]


def test_audit_verify_command_exit_codes(tmp_path: Path) -> None:
    import sys

    path = tmp_path / "audit.jsonl"
    _write(path, 3)
    command = [sys.executable, "-m", "aanlevering.cli.main", "ttp", "audit", "verify"]
    ok = subprocess.run([*command, "--log", str(path)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "3 entries, hash chain intact" in ok.stdout
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("demo-hospital", "other-hospital")
    path.write_text("\n".join(lines) + "\n")
    bad = subprocess.run(
        [*command, "--log", str(path)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and "line 3" in bad.stderr and "TAMPERED" in bad.stderr
    rh = [sys.executable, "-m", "aanlevering.cli.main", "registry-holder", "audit", "verify"]
    assert (
        subprocess.run([*rh, "--log", str(path)], capture_output=True, check=False).returncode == 1
    )


def test_ttp_audit_logs_only_checked_values(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(
        AuditEntry(
            organisation="demo-hospital",
            role="hospital",
            endpoint=f"/pseudonyms/{BSN}",
            outcome="refused:invalid_request",
            status=422,
            registration=f"reg {BSN} with spaces",
            request_id="ok-id",
            types={"NGG": 2, BSN: 1, "x" * 10_000: 3},
        )
    )
    log.close()
    text = (tmp_path / "audit.jsonl").read_text()
    assert BSN not in text and "xxxx" not in text
    entry = json.loads(text)
    assert entry["endpoint"] == "(other)" and entry["registration"] == "(invalid)"
    assert entry["types"] == {"NGG": 2} and entry["invalid_types"] == 4
    assert entry["request_id"] == "ok-id"
