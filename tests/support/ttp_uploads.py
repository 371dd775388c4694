"""Local-mode uploads to the reference TTP in tests: a staged delivery's manifest, the upload.

Why one module: the local-mode tests (tests/integration/ttp) each staged an
nkr-borst delivery with the same manifest and uploaded it, or expected a
refusal, with the same few lines; here they are written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from aanlevering.deliver.channels.ttp_local import LocalUploadResult, upload_local
from aanlevering.deliver.manifest import Manifest, ManifestFile, describe_files, idempotency_key
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused
from support.ttp import SOURCE_KEYS, TTPSetup

#: The normalisation profile of every test upload (the registration accepts it).
PROFILE = "nl-2026.1"


def media_type(name: str) -> str:
    """The media type a staged file is described with, by its name."""
    return "text/csv" if name.endswith(".csv") else "application/x-ndjson"


def local_manifest(
    key: str,
    period: str,
    files: tuple[ManifestFile, ...],
    *,
    types: tuple[str, ...],
    tumours: int,
    provider: str = "demo-hospital",
) -> Manifest:
    """The local-mode manifest of an nkr-borst delivery of ``files`` under ``key``."""
    return Manifest(
        idempotency_key=key,
        registration="nkr-borst",
        registry_holder="iknl",
        period=period,
        period_start="2026-01-01",
        period_end="2026-12-31",
        version=1,
        dictionary_id="nkr-borst",
        dictionary_version="2026.1",
        format="ndjson",
        normalisation_profile=PROFILE,
        pseudonym_types=types,
        key_versions={},
        ttp_mode="local",
        provider_id=provider,
        files=files,
        record_counts={"tumor": tumours},
    )


def nkr_manifest(
    folder: Path,
    period: str,
    counts: dict[str, int],
    *,
    types: tuple[str, ...],
    tumours: int,
    provider: str = "demo-hospital",
) -> Manifest:
    """The manifest of the files staged in ``folder`` (name -> records), as a hospital's."""
    return local_manifest(
        idempotency_key(provider, "nkr-borst", period, 1),
        period,
        describe_files(folder, counts, {name: media_type(name) for name in counts}),
        types=types,
        tumours=tumours,
        provider=provider,
    )


def upload(
    ttp: TTPSetup,
    folder: Path,
    manifest: Manifest,
    organisation: str = "demo-hospital",
    *,
    client: TTPClient | None = None,
    **options: Any,
) -> LocalUploadResult:
    """Upload the staged delivery as ``organisation`` does with the product's channel.

    ``client``: one of the test's own (other retries); ``options`` go to ``upload_local``.
    """
    return upload_local(
        client or ttp.client(organisation),
        manifest.registration,
        folder,
        manifest,
        profile_version=PROFILE,
        **options,
    )


def refused_upload(ttp: TTPSetup, folder: Path, manifest: Manifest, **options: Any) -> TTPRefused:
    """The TTP's refusal of the staged delivery (the test fails when it is accepted).

    ``options`` as :func:`upload` takes them (``organisation``, ``client``, ...).
    """
    with pytest.raises(TTPRefused) as refused:
        upload(ttp, folder, manifest, **options)
    return refused.value


def one_file_manifest(name: str, data: bytes, key: str) -> str:
    """The manifest (JSON) of a one-file nkr-borst upload of ``data`` under ``key``."""
    described = ManifestFile(name, hashlib.sha256(data).hexdigest(), len(data), 1, "x")
    return local_manifest(key, "2026", (described,), types=("NGGV", "MRN"), tumours=1).to_json()


def post_upload(
    ttp: TTPSetup,
    name: str,
    data: bytes,
    key: str,
    manifest: str | None = None,
    *,
    extra: Sequence[tuple[str, str]] = (),
    extra_files: Sequence[tuple[str, tuple[str, bytes, str]]] = (),
) -> requests.Response:
    """``POST /local/deliveries`` of one file as raw HTTP, with ``key`` as its request id.

    Why raw: the product's client builds a correct form and request id; these
    tests send what it never would (other parts, one id for two bodies).
    """
    fields = {
        "registration": "nkr-borst",
        "request_id": key,
        "profile_version": PROFILE,
        "source_key_check": SOURCE_KEYS["nkr-borst"].as_form(),
        "manifest": manifest if manifest is not None else one_file_manifest(name, data, key),
    }
    return requests.post(
        ttp.url + "/local/deliveries",
        headers=ttp.headers("demo-hospital"),
        data=[*fields.items(), *extra],
        files=[("files", (name, data, "application/octet-stream")), *extra_files],
        timeout=30,
    )


def forwarded(receiver_root: Path, manifest: Manifest) -> Path:
    """Where the test receiver keeps what the TTP forwarded of this delivery."""
    return receiver_root / "received" / manifest.idempotency_key
