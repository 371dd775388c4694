"""The TTP protocol as an OpenAPI document, rendered from the app itself.

The committed ``schemas/openapi/ttp.openapi.json`` is this function's output;
a test fails when the two differ, so the published protocol cannot drift from
the implementation. Rendered without a configuration, so it never depends on
(or reveals) a deployment's organisations or keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aanlevering.settings import checkout_root


def default_path() -> Path:
    """Where the committed document lives in the checkout."""
    root = checkout_root() or Path.cwd()
    return root / "schemas" / "openapi" / "ttp.openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the TTP app."""
    from aanlevering.counterparts.ttp.api import create_app

    return create_app(None).openapi()


def openapi_text() -> str:
    """The document as committed: indented JSON with a final newline."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
