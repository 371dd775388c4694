"""Client of the FHIR Bulk Data Access ``$export`` operation (async request pattern).

Hospitals that expose their EHR through a FHIR server hand over data as a
bulk export rather than CSV. The flow, per the Bulk Data IG:

1. kick-off ``GET [base]/$export`` (or ``Patient/$export``,
   ``Group/[id]/$export``) with ``Accept: application/fhir+json`` and
   ``Prefer: respond-async``, optional ``_type`` and ``_since``; the server
   answers ``202 Accepted`` with the status URL in ``Content-Location``;
2. poll the status URL: ``202`` while running (wait as ``Retry-After`` says,
   bounded by a total wait), ``200`` with the manifest when done, ``4xx/5xx``
   with an OperationOutcome on failure (``transient`` issues are retried);
3. download every ``output[].url`` streamed to ``<Type>.<n>.ndjson`` (with a
   bearer token when the manifest says ``requiresAccessToken``), and the
   ``error[]`` files to ``errors/``; keep the manifest as ``manifest.json``;
4. ``DELETE`` the status URL so the server can drop the files.

The folder it writes is what :func:`aanlevering.extract.extract` reads.
Errors raise :class:`BulkExportError` (an ExtractError, exit code 2) with
the HTTP status and the OperationOutcome's issue severities and codes, never
its diagnostics or any other text of the answer: a FHIR server's diagnostics
may quote the patient or resource it refused (decision 0731).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import requests

from aanlevering.errors import ExtractError
from aanlevering.tls import redirect_refusal

log = logging.getLogger(__name__)

Level = Literal["system", "patient", "group"]
FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_CHUNK = 1 << 20


class BulkExportError(ExtractError):
    """The bulk export could not be started, finished or downloaded."""


@dataclass(frozen=True)
class ExportResult:
    """What a finished export left in the target folder."""

    folder: Path
    manifest: Mapping[str, Any]
    files: tuple[Path, ...]
    error_files: tuple[Path, ...]
    status_url: str


@dataclass(frozen=True)
class PollPolicy:
    """How long to wait for the server: total bound and the pace of polling."""

    max_wait_seconds: float = 3600.0
    default_interval: float = 2.0
    max_interval: float = 120.0
    request_timeout: float = 60.0


def kickoff_url(base_url: str, level: Level = "system", group_id: str | None = None) -> str:
    """The ``$export`` URL of a system, patient or group level export."""
    base = base_url.rstrip("/")
    if level == "system":
        return f"{base}/$export"
    if level == "patient":
        return f"{base}/Patient/$export"
    if not group_id:
        raise BulkExportError("a group level export needs a group id")
    return f"{base}/Group/{group_id}/$export"


#: Said in place of a server's own words about an error (decision 0731).
DETAILS_WITHHELD = (
    "the server's details are withheld (they may quote patient data); see the FHIR server's log"
)
_CODE = re.compile(r"[a-z][a-z-]{0,39}")


def outcome_text(response: requests.Response) -> str:
    """What an error response says without its words: its issue severities and codes.

    Why not the diagnostics: a FHIR server's ``diagnostics`` and ``details.text``
    (and an HTML error page) may quote the patient or resource it refused, and
    this message goes to the terminal, the log and an Airflow task log. Issue
    codes come from a closed FHIR value set (``not-found``, ``not-supported``),
    kept only when they look like one.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    codes = []
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        for issue in body.get("issue") or ():
            if not isinstance(issue, dict):
                continue
            severity, code = str(issue.get("severity", "error")), str(issue.get("code", ""))
            if _CODE.fullmatch(severity) and _CODE.fullmatch(code):
                codes.append(f"{severity} {code}")
    issues = f"OperationOutcome issue(s): {', '.join(codes)}; " if codes else ""
    return f"{issues}{DETAILS_WITHHELD}"


def _is_transient(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    issues = body.get("issue") if isinstance(body, dict) else None
    if not isinstance(issues, list) or not issues:
        return False
    return all(isinstance(issue, dict) and issue.get("code") == "transient" for issue in issues)


def retry_after_seconds(value: str | None, default: float, now: datetime | None = None) -> float:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BulkExportClient:
    """One bulk export from kick-off to download; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        policy: PollPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.policy = policy or PollPolicy()
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock

    def _headers(self, accept: str, *, with_token: bool = True) -> dict[str, str]:
        headers = {"Accept": accept}
        if with_token and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _get(
        self, url: str, headers: Mapping[str, str], what: str, **kwargs: Any
    ) -> requests.Response:
        """GET without following redirects: a 3xx is a BulkExportError (decision 0402).

        Why: a redirect would take the bearer token's request (and on to the
        download) to a host never configured; the manifest names every file
        URL itself, so a server has no need to redirect.
        """
        try:
            response = self.session.get(
                url,
                headers=dict(headers),
                timeout=self.policy.request_timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as error:
            raise BulkExportError(f"bulk export: cannot reach {url}: {error}") from None
        if 300 <= response.status_code < 400:
            response.close()
            raise BulkExportError(redirect_refusal("FHIR server", what, response))
        return response

    def kick_off(
        self,
        level: Level = "system",
        *,
        group_id: str | None = None,
        types: Sequence[str] = (),
        since: str | None = None,
    ) -> str:
        """Start the export; the status URL to poll."""
        url = kickoff_url(self.base_url, level, group_id)
        params = {}
        if types:
            params["_type"] = ",".join(types)
        if since:
            params["_since"] = since
        headers = self._headers(FHIR_JSON) | {"Prefer": "respond-async"}
        response = self._get(url, headers, "the bulk export kick-off", params=params)
        if response.status_code != 202:
            raise BulkExportError(
                f"bulk export kick-off {url} failed: HTTP {response.status_code}: "
                f"{outcome_text(response)}"
            )
        status_url = response.headers.get("Content-Location")
        if not status_url:
            raise BulkExportError(f"bulk export kick-off {url}: 202 without Content-Location")
        log.info("bulk export started at %s; status at %s", url, status_url)
        return status_url

    def wait(self, status_url: str) -> Mapping[str, Any]:
        """Poll until the manifest is ready; BulkExportError on failure or timeout."""
        deadline = self.clock() + self.policy.max_wait_seconds
        progress = ""
        polls = 0
        while True:
            response = self._get(
                status_url, self._headers("application/json"), "the bulk export status request"
            )
            polls += 1
            if response.status_code == 200:
                return self._manifest(response, status_url)
            transient = response.status_code in {429, 503} or (
                response.status_code >= 500 and _is_transient(response)
            )
            if response.status_code != 202 and not transient:
                raise BulkExportError(
                    f"bulk export failed (status {status_url}): HTTP {response.status_code}: "
                    f"{outcome_text(response)}"
                )
            progress = response.headers.get("X-Progress", progress)
            delay = retry_after_seconds(
                response.headers.get("Retry-After"), self.policy.default_interval
            )
            remaining = deadline - self.clock()
            if remaining <= 0:
                self.cancel(status_url)
                raise BulkExportError(
                    f"bulk export at {status_url} not complete after "
                    f"{self.policy.max_wait_seconds:g} s ({polls} polls"
                    f"{', last progress: ' + progress if progress else ''}); it was cancelled"
                )
            pause = min(delay, self.policy.max_interval, remaining)
            log.debug("bulk export running (%s); next poll in %.1f s", progress or "-", pause)
            self.sleep(pause)

    @staticmethod
    def _manifest(response: requests.Response, status_url: str) -> Mapping[str, Any]:
        try:
            manifest = response.json()
        except ValueError:
            raise BulkExportError(f"bulk export {status_url}: the manifest is not JSON") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("output"), list):
            raise BulkExportError(f"bulk export {status_url}: the manifest has no 'output' list")
        return manifest

    def download(self, manifest: Mapping[str, Any], folder: Path) -> tuple[list[Path], list[Path]]:
        """Fetch every output (and error) file of the manifest into ``folder``."""
        needs_token = bool(manifest.get("requiresAccessToken"))
        if needs_token and not self.token:
            raise BulkExportError(
                "the bulk export's files require an access token, but none was given"
            )
        files = self._download_all(manifest.get("output") or [], folder, needs_token)
        errors = self._download_all(
            manifest.get("error") or [], folder / "errors", needs_token, error_files=True
        )
        return files, errors

    def _download_all(
        self,
        entries: Sequence[Any],
        folder: Path,
        needs_token: bool,
        *,
        error_files: bool = False,
    ) -> list[Path]:
        counts: dict[str, int] = {}
        files = []
        for index, entry in enumerate(entries):
            resource_type = str(entry.get("type", "")) if isinstance(entry, dict) else ""
            url = entry.get("url") if isinstance(entry, dict) else None
            if not _TYPE.match(resource_type) or not isinstance(url, str):
                kind = "error" if error_files else "output"
                raise BulkExportError(
                    f"bulk export manifest: {kind}[{index}] has no valid type and url"
                )
            counts[resource_type] = counts.get(resource_type, 0) + 1
            target = folder / f"{resource_type}.{counts[resource_type]}.ndjson"
            self._fetch(url, target, needs_token)
            files.append(target)
        return files

    def _fetch(self, url: str, target: Path, needs_token: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        headers = self._headers(FHIR_NDJSON, with_token=needs_token)
        response = self._get(url, headers, f"the download of {target.name}", stream=True)
        with response:
            if response.status_code != 200:
                raise BulkExportError(
                    f"bulk export download {url} failed: HTTP {response.status_code}: "
                    f"{outcome_text(response)}"
                )
            size = 0
            with partial.open("wb") as handle:
                for chunk in response.iter_content(_CHUNK):
                    handle.write(chunk)
                    size += len(chunk)
        partial.replace(target)
        log.info("downloaded %s (%d bytes)", target.name, size)

    def cancel(self, status_url: str) -> None:
        """Ask the server to drop the export (best effort: failures are only logged)."""
        try:
            response = self.session.delete(
                status_url,
                headers=self._headers("application/json"),
                timeout=self.policy.request_timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            log.warning("could not delete bulk export %s: %s", status_url, error)
            return
        if response.status_code >= 300:  # a redirect is not followed either
            log.warning(
                "deleting bulk export %s answered HTTP %d", status_url, response.status_code
            )


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = sorted(p.name for p in folder.iterdir() if p.suffix == ".ndjson")
    if leftovers or (folder / "manifest.json").exists():
        raise BulkExportError(
            f"{folder} already holds an export ({', '.join(leftovers[:3]) or 'manifest.json'}); "
            "use an empty folder so files of two exports never mix"
        )


def bulk_export(
    base_url: str,
    out_dir: Path,
    *,
    level: Level = "system",
    group_id: str | None = None,
    types: Sequence[str] = (),
    since: str | None = None,
    token: str | None = None,
    policy: PollPolicy | None = None,
    delete_when_done: bool = True,
    session: requests.Session | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Run a whole bulk export into ``out_dir`` (new or empty) and return what it wrote.

    ``progress`` is told each step as it begins (``kick-off``, ``wait``, ``download``).
    """
    step = progress or (lambda _name: None)
    folder = Path(out_dir)
    _prepare(folder)
    client = BulkExportClient(base_url, token=token, policy=policy, session=session)
    step("kick-off")
    status_url = client.kick_off(level, group_id=group_id, types=types, since=since)
    step("wait")
    manifest = client.wait(status_url)
    step("download")
    files, errors = client.download(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if errors:
        log.warning(
            "bulk export reported %d error file(s), saved in %s", len(errors), folder / "errors"
        )
    if delete_when_done:
        client.cancel(status_url)
    log.info("bulk export complete: %d file(s) in %s", len(files), folder)
    return ExportResult(
        folder=folder,
        manifest=manifest,
        files=tuple(files),
        error_files=tuple(errors),
        status_url=status_url,
    )
