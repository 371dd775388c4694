"""Send a staged delivery to the reference registry holder with its files replaced, and
read the answer: the set-up most holder tests repeat.

Why one place: a test of the holder stages the product-shaped delivery, swaps
in the files it attacks with, changes a manifest field or two, sends it raw
(``support.holder_requests``) and reads the refusal's problems. Written out
in every test it hid what each test changes behind the same dozen lines.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from aanlevering.deliver.manifest import Manifest
from support.holder_requests import refusal_text, restaged, send
from support.registry_holder import RegistryHolder


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


def problems_of(answer: requests.Response) -> list[str]:
    """The problems a 422 refusal lists, failing the test on any other answer."""
    problems: list[str] = json.loads(refusal_text(answer))["problems"]
    return problems
