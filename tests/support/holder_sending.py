"""Send a staged delivery to the reference registry holder with its files replaced, and
read the answer: the set-up most holder tests repeat.

Why one place: a test of the holder stages the product-shaped delivery, swaps
in the files it attacks with, changes a manifest field or two, sends it raw
(``support.holder_requests``) and reads the refusal's problems. Written out
in every test it hid what each test changes behind the same dozen lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from aanlevering.deliver.manifest import Manifest
from support.holder_requests import ndjson_lines, refusal_text, restaged, send
from support.registry_holder import RegistryHolder


def ndjson_texts(**by_type: Sequence[dict[str, Any]]) -> dict[str, str | bytes]:
    """``<Type>.ndjson`` files (name -> text) holding the resources given per type."""
    return {f"{name}.ndjson": ndjson_lines(*resources) for name, resources in by_type.items()}


def send_texts(
    holder: RegistryHolder,
    folder: Path,
    manifest: Manifest,
    texts: dict[str, str | bytes],
    **changes: Any,
) -> requests.Response:
    """``holder``'s answer to ``manifest``'s delivery with its files replaced by ``texts``
    (name -> content, re-described) and the manifest's ``changes`` made."""
    return send(holder, folder, replace(restaged(folder, manifest, texts), **changes))


def refusal_of(
    holder: RegistryHolder,
    folder: Path,
    manifest: Manifest,
    texts: dict[str, str | bytes],
    **changes: Any,
) -> str:
    """The refusal text of :func:`send_texts`'s delivery, failing the test on a receipt."""
    return refusal_text(send_texts(holder, folder, manifest, texts, **changes))


def problems_with(
    holder: RegistryHolder,
    folder: Path,
    manifest: Manifest,
    texts: dict[str, str | bytes],
    **changes: Any,
) -> list[str]:
    """The problems the refusal of :func:`send_texts`'s delivery lists."""
    return problems_of(send_texts(holder, folder, manifest, texts, **changes))


def problems_of(answer: requests.Response) -> list[str]:
    """The problems a 422 refusal lists, failing the test on any other answer."""
    problems: list[str] = json.loads(refusal_text(answer))["problems"]
    return problems


def refused(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    """The problems of ``holder``'s refusal of ``manifest``'s delivery from ``folder``,
    failing the test on any other answer or if anything was receipted."""
    problems = problems_of(send(holder, folder, manifest))
    assert holder.ledger() == []
    return problems


def send_with(
    holder: RegistryHolder, folder: Path, manifest: Manifest, headers: dict[str, str]
) -> requests.Response:
    """Upload ``manifest``'s files from ``folder`` and commit it with ``headers`` (another
    caller's credentials: a forwarder's key and ``On-Behalf-Of``); the commit's answer."""
    url = f"{holder.endpoint(manifest.registration)}/{manifest.idempotency_key}"
    for item in manifest.transferred():
        body = (folder / item.name).read_bytes()
        put = requests.put(f"{url}/files/{item.name}", data=body, headers=headers, timeout=30)
        assert put.ok, put.text
    commit = {**headers, "Content-Type": "application/json"}
    return requests.post(
        f"{url}/commit", data=manifest.to_json().encode(), headers=commit, timeout=60
    )
