"""Apply a change to every resource of a FHIR NDJSON file or Bundle, in place.

Used where a whole delivered file must be adjusted resource by resource:
marking pseudonym inputs for the TTP (local mode) and swapping temporary for
definitive pseudonyms at the registry holder (web mode).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

ResourceChange = Callable[[dict[str, Any]], None]


def rewrite_resources(path: Path, change: ResourceChange) -> None:
    """Run ``change`` on each resource (``.ndjson``: per line; otherwise a Bundle's entries)."""
    if path.suffix == ".ndjson":
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                resource = json.loads(line)
                change(resource)
                lines.append(json.dumps(resource, separators=(",", ":"), ensure_ascii=False))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    bundle = json.loads(path.read_text(encoding="utf-8"))
    for entry in bundle.get("entry", ()):
        change(entry.get("resource", {}))
    path.write_text(json.dumps(bundle, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
