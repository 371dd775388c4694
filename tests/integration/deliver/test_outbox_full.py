"""An outbox that cannot be written (disk full, read-only, too large) is a retryable delivery
failure that says so, and leaves no half-placed delivery (decision 0656).

It was an ``OSError`` out of the channel: the CLI called it an internal error
("a bug, not a problem with your input or configuration"), no failed attempt
was recorded, and the folder kept a ``.part`` copy and data files without a
manifest, for whoever uploads the folder by hand. Here a child process writes
with a file-size limit (``RLIMIT_FSIZE``): a write past it fails as on a full
disk, with no root or mount needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aanlevering.deliver.channels.outbox import RECEIPT_NAME, OutboxChannel, outbox_folder
from aanlevering.deliver.manifest import MANIFEST_NAME
from conftest import stage

CHILD = """
import json, resource, sys
from pathlib import Path
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.manifest import Manifest
root, folder, manifest_file, limit = sys.argv[1:5]
manifest = Manifest.from_json(Path(manifest_file).read_text())
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
try:
    OutboxChannel(Path(root)).send(Path(folder), manifest)
except Exception as error:
    kinds = [c.__name__ for c in type(error).__mro__]
    print(json.dumps({"type": type(error).__name__, "kinds": kinds, "message": str(error)}))
else:
    print(json.dumps({"type": None}))
"""


def test_an_outbox_that_cannot_be_written_is_a_retryable_failure_leaving_nothing(
    tmp_path: Path,
) -> None:
    staged = tmp_path / "staging"
    manifest = stage(staged)
    (tmp_path / "manifest.json").write_text(manifest.to_json())
    root = tmp_path / "outbox"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(root),
            str(staged),
            str(tmp_path / "manifest.json"),
            "64",
        ],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["type"] is not None and "RetryableDeliveryError" in answer["kinds"]
    assert "could not be written" in answer["message"] and "File too large" in answer["message"]
    target = outbox_folder(root, manifest)
    assert not target.exists() or list(target.iterdir()) == []  # nothing half-placed

    receipt = OutboxChannel(root).send(staged, manifest)  # space again: placed whole

    names = {p.name for p in target.iterdir()}
    assert names == {i.name for i in manifest.transferred()} | {MANIFEST_NAME, RECEIPT_NAME}
    assert not receipt.duplicate
