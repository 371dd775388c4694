"""A local upload holds at most ``limits.max_upload_records`` records (decision 1051).

Against the real TTP process: with a limit of six records, a delivery of nine
is refused with 413 naming the limit, before any work when its manifest counts
them and while the files are read when the manifest understates them; nothing
is forwarded and no value appears in the refusal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ttp_local_mode import stage

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from aanlevering.deliver.manifest import Manifest
from support.ttp import Hospital, TTPSetup, digest
from support.ttp_uploads import forwarded, nkr_manifest, refused_upload, upload

LIMIT = 6


@pytest.fixture
def record_limited_ttp(fresh_ttp: TTPSetup) -> Iterator[TTPSetup]:
    document = read_config_document(fresh_ttp.config)
    document["limits"] = {**document.get("limits", {}), "max_upload_records": LIMIT}
    write_config_document(fresh_ttp.config, document)
    fresh_ttp.start()
    yield fresh_ttp


def _assert_refused_for_the_limit(ttp: TTPSetup, folder: Path, manifest: Manifest) -> str:
    refused = refused_upload(ttp, folder, manifest)
    assert (refused.status, refused.code) == (413, "too_many_records"), refused
    message = str(refused)
    assert f"more than {LIMIT} records" in message and "max_upload_records" in message
    for i in range(4):
        assert digest(f"NGGV|local-{i}") not in message
    return message


def test_an_upload_over_the_record_limit_is_refused_before_forwarding(
    record_limited_ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, ttp_root: Path
) -> None:
    folder = tmp_path / "staged"
    manifest = stage(folder, "2026-RL1", hospital_a)  # 4 + 5 records, as its manifest says

    assert "the manifest" in _assert_refused_for_the_limit(record_limited_ttp, folder, manifest)
    assert not forwarded(ttp_root, manifest).exists()

    # A manifest that understates the records does not get them past the limit.
    understated = nkr_manifest(
        folder,
        "2026-RL2",
        {"tumor.ndjson": 1, "tumor.csv": 1},
        types=("NGGV", "C", "MRN"),
        tumours=1,
    )
    message = _assert_refused_for_the_limit(record_limited_ttp, folder, understated)
    assert " line " in message
    assert not forwarded(ttp_root, understated).exists()
    log = record_limited_ttp.audit_log.read_text()
    assert "refused:too_many_records" in log and digest("NGGV|local-0") not in log


def test_an_upload_within_the_record_limit_is_forwarded(
    record_limited_ttp: TTPSetup, tmp_path: Path, ttp_root: Path
) -> None:
    folder = tmp_path / "staged"
    folder.mkdir()
    lines = [
        {"tumor_id": f"T{i}", "pseudonym_inputs": {"NGGV": digest(f"rl-{i}")}} for i in range(6)
    ]
    (folder / "tumor.ndjson").write_text("".join(json.dumps(line) + "\n" for line in lines))
    manifest = nkr_manifest(folder, "2026-RL3", {"tumor.ndjson": 6}, types=("NGGV",), tumours=6)
    result = upload(record_limited_ttp, folder, manifest)
    assert result.files[0].records == 6
    assert forwarded(ttp_root, manifest).exists()
