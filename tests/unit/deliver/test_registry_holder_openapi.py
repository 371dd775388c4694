"""The published OpenAPI of the reference registry holder is the app's current one."""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.cli.registry_holder import openapi_document

PUBLISHED = (
    Path(__file__).resolve().parents[3] / "schemas" / "openapi" / "registry-holder.openapi.json"
)


def test_published_openapi_matches_the_app() -> None:
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(openapi_document())), (
        "regenerate with: aanlevering registry-holder openapi --out "
        "schemas/openapi/registry-holder.openapi.json"
    )


def test_protocol_paths_are_documented() -> None:
    paths = json.loads(PUBLISHED.read_text(encoding="utf-8"))["paths"]
    base = "/registrations/{registration}/deliveries/{key}"
    assert {f"{base}/files/{{name}}", f"{base}/commit", f"{base}/receipt"} <= set(paths)
    commit = paths[f"{base}/commit"]["post"]
    assert (
        "idempotency_key"
        in commit["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
