"""Client of the TTP protocol (schemas/openapi/ttp.openapi.json), for hospitals and registries.

What it adds over plain HTTP calls:

* batching (``batch_size`` records per call) with request ids derived from a
  run id and the batch index, so a retried run reuses them and the TTP
  answers from its idempotency cache instead of serving twice;
* retries with exponential backoff on timeouts, connection errors and 5xx;
  a 4xx is the TTP saying no and is raised at once as :class:`TTPRefused`
  (status, registration, refused type, the TTP's message), never retried;
* checks on every answer: exactly the refs that were sent, exactly the types
  asked for, labels of the right kind and key version. An incomplete answer
  raises before anything can be delivered;
* a local refusal of type B (pseudonymised BSN) unless the caller passes the
  justification from the registration's approval, before any call.

Results are small frozen objects carrying what an event needs (request ids,
TTP batch ids, key versions, counts); their ``repr`` shows counts only.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

import msgspec
import requests

from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import Receipt
from aanlevering.errors import ConfigError, TTPError
from aanlevering.pseudonym.crypto import TEMPORARY_MARKER, LabelError, parse_label
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_BATCH_SIZE = 5000
#: Batches in flight at once: the TTP works on one while the client checks the last.
DEFAULT_CONCURRENCY = 2
URL_ENV = "AANLEVERING_TTP_URL"
API_KEY_ENV = "AANLEVERING_TTP_API_KEY"
API_KEY_FILE_ENV = "AANLEVERING_TTP_API_KEY_FILE"

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,150}$")
_B = PseudonymType.B.value
_MRN = PseudonymType.MRN.value


class TTPRefused(TTPError):
    """The TTP answered 4xx: the request is wrong or not allowed; retrying will not help."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        registration: str | None,
        pseudonym_type: str | None,
        server_message: str,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.registration = registration
        self.pseudonym_type = pseudonym_type
        self.server_message = server_message


class TTPUnavailable(TTPError):
    """The TTP could not be reached or kept failing (5xx) through every retry."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True, repr=False)
class PseudonymInputs:
    """One person's inputs for web mode: source digest per type, optional MRN ciphertext."""

    ref: str
    digests: Mapping[str, str]
    mrn_ciphertext: str | None = None

    def __repr__(self) -> str:
        return f"PseudonymInputs(ref={self.ref!r}, types={sorted(self.types)})"

    @property
    def types(self) -> frozenset[str]:
        """Pseudonym types this record asks for."""
        codes = {str(code) for code in self.digests}
        if self.mrn_ciphertext is not None:
            codes.add(_MRN)
        return frozenset(codes)


@dataclass(frozen=True, repr=False)
class RecordPseudonyms:
    """Pseudonym labels of one record, by type (the registry holder's exchange input)."""

    ref: str
    pseudonyms: Mapping[str, str]

    def __repr__(self) -> str:
        return f"RecordPseudonyms(ref={self.ref!r}, types={sorted(self.pseudonyms)})"


@dataclass(frozen=True)
class BatchReceipt:
    """One call to the TTP: the ids an event needs to point at it."""

    request_id: str
    batch_id: str
    records: int
    key_versions: tuple[int, ...]


@dataclass(frozen=True, repr=False)
class PseudonymResult:
    """Labels per ref and type for a whole run, with the batches that made them."""

    registration: str
    kind: str
    pseudonyms: Mapping[str, Mapping[str, str]]
    key_versions: frozenset[int]
    batches: tuple[BatchReceipt, ...]
    type_counts: Mapping[str, int] = field(default_factory=dict)

    def patient_pseudonyms(
        self, patient_ids: Mapping[str, str], profile: str
    ) -> list[PatientPseudonyms]:
        """The result in the delivery model, one entry per ref, for the FHIR and CSV output.

        ``patient_ids`` maps each ref to the source patient number; that map
        never leaves the hospital (the TTP only ever saw the refs). A
        pseudonym's ``value`` is its full label, which names type and key version.
        """
        out: list[PatientPseudonyms] = []
        # A run has a handful of distinct label headers (kind, type, version):
        # parse each once instead of decoding every payload (decision 0121).
        headers: dict[str, tuple[PseudonymType, int, bool]] = {}
        for ref, labels in self.pseudonyms.items():
            pseudonyms = []
            for label in labels.values():
                head, _, payload = label.rpartition(":")
                known = headers.get(head)
                if known is None or not payload:
                    parsed = parse_label(label)
                    known = (parsed.type, parsed.version, parsed.kind == "temporary")
                    headers[head] = known
                pseudonyms.append(
                    Pseudonym(
                        type=known[0],
                        value=label,
                        key_version=known[1],
                        temporary=known[2],
                        profile=profile,
                    )
                )
            out.append(PatientPseudonyms(patient_ids[ref], tuple(pseudonyms)))
        return out

    def __repr__(self) -> str:
        return (
            f"PseudonymResult({self.kind}, registration={self.registration!r}, "
            f"records={len(self.pseudonyms)}, types={dict(self.type_counts)}, "
            f"key_versions={sorted(self.key_versions)}, batches={len(self.batches)})"
        )


@dataclass(frozen=True)
class LocalFileReport:
    """What the TTP did to one uploaded file (counts only)."""

    name: str
    records: int
    pseudonyms: Mapping[str, int]


@dataclass(frozen=True)
class LocalUploadResult:
    """A local-mode delivery: pseudonymised by the TTP, forwarded and receipted."""

    registration: str
    request_id: str
    batch_id: str
    key_version: int
    files: tuple[LocalFileReport, ...]
    forward_attempts: int
    receipt: Receipt


@dataclass(frozen=True)
class TTPHealth:
    """Answer of GET /health."""

    status: str
    service: str
    version: str


class SourceColumns(Protocol):
    """What :func:`inputs_from_columns` needs of a source-step batch (``SourceBatch``)."""

    @property
    def num_rows(self) -> int:
        """Rows in the batch."""

    @property
    def values(self) -> Mapping[PseudonymType, Sequence[str | None]]:
        """Per type one digest (MRN: ciphertext) per row, None where it failed."""


def inputs_from_columns(batch: SourceColumns, refs: Sequence[str]) -> list[PseudonymInputs]:
    """Records for :meth:`TTPClient.temporary_pseudonyms` from the source step's columns.

    ``refs[i]`` is the reference of row ``i`` (never an identifier). Rows
    without any value are left out: the TTP would refuse them, and the source
    step has already reported why they have none.
    """
    if len(refs) != batch.num_rows:
        raise ValueError(f"{len(refs)} refs for {batch.num_rows} rows")
    columns = {str(ptype): column for ptype, column in batch.values.items() if ptype != _MRN}
    mrn = batch.values.get(PseudonymType.MRN)
    records = []
    for row, ref in enumerate(refs):
        digests: dict[str, str] = {}
        for code, column in columns.items():
            value = column[row]
            if value:
                digests[code] = value
        ciphertext = (mrn[row] if mrn is not None else None) or None
        if digests or ciphertext:
            records.append(PseudonymInputs(ref, digests, ciphertext))
    return records


def _expected_labels(labels: Any, sent: PseudonymInputs, prefixes: Mapping[str, str]) -> bool:
    """Quick check of one answer: exactly the types sent, each label with the expected prefix.

    Why: thousands of records per batch; a label whose prefix names the right
    kind, type and key version and has a payload is what the full check
    (:meth:`TTPClient._check_labels`) accepts, so only answers that fail here
    take the full check, which raises with the reason.
    """
    if type(labels) is not dict:
        return False
    digests = sent.digests
    has_mrn = sent.mrn_ciphertext is not None
    if len(labels) != len(digests) + has_mrn:
        return False
    for code, text in labels.items():
        known = has_mrn if code == _MRN else code in digests
        prefix = prefixes.get(code)
        if not known or prefix is None or type(text) is not str:
            return False
        if not text.startswith(prefix) or len(text) == len(prefix):
            return False
    return True


def check_bsn_allowed(
    registration: str, types: Iterable[str], bsn_justification: str | None
) -> None:
    """Stop before any call when type B is asked for without a justification.

    Most registrations may not receive a pseudonymised BSN, and those that use
    one are generally not admitted to the register; asking for it must be a
    deliberate, documented choice (the registration config's
    ``bsn_justification``), never a default.
    """
    if _B in {str(t) for t in types} and not (bsn_justification or "").strip():
        raise TTPError(
            f"registration {registration!r} asks for pseudonym type B (pseudonymised BSN) "
            "without a justification; most registrations may not receive B. Pass the "
            "justification from the registration's approval to request it."
        )


def _batches(items: Sequence[T], size: int) -> Iterator[tuple[int, Sequence[T]]]:
    for index, start in enumerate(range(0, len(items), size)):
        yield index, items[start : start + size]


def load_api_key(env: Mapping[str, str] | None = None) -> str:
    """The API key from ``AANLEVERING_TTP_API_KEY`` or the file in ``..._API_KEY_FILE``."""
    env = os.environ if env is None else env
    if env.get(API_KEY_ENV):
        return env[API_KEY_ENV].strip()
    path = env.get(API_KEY_FILE_ENV)
    if not path:
        raise ConfigError(f"set {API_KEY_ENV} or {API_KEY_FILE_ENV} to reach the TTP")
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the TTP API key ({error.strerror})") from None
    if not key:
        raise ConfigError(f"{path}: the TTP API key file is empty")
    return key


class TTPClient:
    """Talks to one TTP as one organisation (its API key decides the role)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1 or max_retries < 0:
            raise ValueError("batch_size must be >= 1 and max_retries >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self._session = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"TTPClient({self.base_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> TTPClient:
        """A client for ``AANLEVERING_TTP_URL`` (default the local reference TTP)."""
        env = os.environ if env is None else env
        return cls(env.get(URL_ENV) or DEFAULT_URL, load_api_key(env), **options)

    # -- transport ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        registration: str | None,
        what: str,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> Any:
        url = self.base_url + path
        problem = ""
        attempts = self.max_retries + 1
        data: Mapping[str, str] | bytes | None = form
        headers = self._headers
        if json_body is not None:
            # Encoded once for every attempt, with msgspec: a batch of thousands of
            # records costs several times less than with the json module (0122).
            data = msgspec.json.encode(json_body)
            headers = self._json_headers
        for attempt in range(attempts):
            try:
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = type(error).__name__
            else:
                if response.status_code < 400:
                    return self._json(response, what)
                if response.status_code < 500:
                    raise self._refused(response, registration, what)
                problem = f"HTTP {response.status_code}"
            if attempt + 1 < attempts:
                delay = min(self.backoff * 2**attempt, self.max_backoff)
                log.warning(
                    "TTP %s failed (%s), attempt %d/%d; retrying in %.2fs",
                    what,
                    problem,
                    attempt + 1,
                    attempts,
                    delay,
                )
                self._sleep(delay)
        raise TTPUnavailable(
            f"TTP {what} for registration {registration!r} failed after {attempts} attempts "
            f"({problem}) at {self.base_url}",
            attempts=attempts,
        )

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        try:
            return msgspec.json.decode(response.content)
        except (msgspec.DecodeError, ValueError):
            raise TTPError(f"TTP {what}: the answer is not JSON") from None

    @staticmethod
    def _refused(response: requests.Response, registration: str | None, what: str) -> TTPRefused:
        detail: Mapping[str, Any] = {}
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("detail"), dict):
                detail = body["detail"]
        except ValueError:
            pass
        server_message = str(detail.get("message", response.reason or ""))
        pseudonym_type = detail.get("pseudonym_type")
        refused_type = f", type {pseudonym_type}" if pseudonym_type else ""
        return TTPRefused(
            f"TTP refused {what} for registration {registration!r}{refused_type} "
            f"(HTTP {response.status_code}): {server_message}",
            status=response.status_code,
            code=str(detail.get("code", "")),
            registration=detail.get("registration", registration),
            pseudonym_type=pseudonym_type,
            server_message=server_message,
        )

    def _in_flight(
        self,
        batches: Iterable[tuple[int, Sequence[T]]],
        call: Callable[[int, Sequence[T]], Any],
    ) -> Iterator[tuple[int, Sequence[T], Any]]:
        """Answers in batch order, with up to ``concurrency`` requests on the wire at once.

        The first failure (after its own retries) is raised in batch order;
        batches already sent finish first, and no further batch is sent.
        """
        if self.concurrency == 1:
            for index, batch in batches:
                yield index, batch, call(index, batch)
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="ttp-batch") as pool:
            pending: deque[tuple[int, Sequence[T], Future[Any]]] = deque()
            source = iter(batches)
            try:
                for index, batch in source:
                    pending.append((index, batch, pool.submit(call, index, batch)))
                    if len(pending) >= self.concurrency:
                        done_index, done_batch, future = pending.popleft()
                        yield done_index, done_batch, future.result()
                while pending:
                    done_index, done_batch, future = pending.popleft()
                    yield done_index, done_batch, future.result()
            finally:
                for _, _, future in pending:
                    future.cancel()

    # -- checks on answers ----------------------------------------------------------------

    @staticmethod
    def _check_refs(
        registration: str, request_id: str, sent: Sequence[str], records: Any
    ) -> list[dict[str, Any]]:
        if not isinstance(records, list):
            raise TTPError(f"TTP answer to {request_id} ({registration}) has no records list")
        got = [record.get("ref") if isinstance(record, dict) else None for record in records]
        if len(got) != len(sent) or set(got) != set(sent):
            missing = len(set(sent) - set(got))
            unexpected = len({g for g in got if g not in set(sent)})
            raise TTPError(
                f"TTP answer to {request_id} ({registration}) is incomplete: {len(got)} records "
                f"for {len(sent)} sent, {missing} missing, {unexpected} unexpected; "
                "nothing from this run may be delivered"
            )
        return records

    @staticmethod
    def _check_labels(
        registration: str,
        request_id: str,
        expected: frozenset[str],
        labels: Any,
        *,
        kind: str,
        version: int | None,
    ) -> dict[str, str]:
        if not isinstance(labels, dict) or labels.keys() != expected:
            found = sorted(labels) if isinstance(labels, dict) else []
            raise TTPError(
                f"TTP answer to {request_id} ({registration}) has types {found}, "
                f"expected {sorted(expected)}"
            )
        for code, text in labels.items():
            want = "mrn" if code == _MRN else kind
            if version is not None:
                # Cheap path for thousands of labels: the prefix says kind, type, version.
                marker = f"{TEMPORARY_MARKER}:" if want == "temporary" else ""
                prefix = f"{marker}{code}:v{version}:"
                if isinstance(text, str) and text.startswith(prefix) and len(text) > len(prefix):
                    continue
            try:
                label = parse_label(text)
            except (LabelError, TypeError, AttributeError):
                raise TTPError(
                    f"TTP answer to {request_id} ({registration}): malformed {code} label"
                ) from None
            if label.kind != want or label.type.value != code:
                raise TTPError(
                    f"TTP answer to {request_id} ({registration}): {code} label is a "
                    f"{label.kind} {label.type.value} pseudonym, expected {want} {code}"
                )
            if version is not None and label.version != version:
                raise TTPError(
                    f"TTP answer to {request_id} ({registration}): {code} label has key "
                    f"version {label.version}, expected {version}"
                )
        return labels

    # -- use cases ------------------------------------------------------------------------

    def health(self) -> TTPHealth:
        """Whether the TTP is up (no API key needed)."""
        body = self._request("GET", "/health", registration=None, what="health check")
        return TTPHealth(str(body["status"]), str(body["service"]), str(body["version"]))

    def temporary_pseudonyms(
        self,
        registration: str,
        records: Iterable[PseudonymInputs],
        *,
        run_id: str,
        profile_version: str,
        bsn_justification: str | None = None,
        first_batch: int = 0,
    ) -> PseudonymResult:
        """Web mode: temporary (and MRN) pseudonyms for every record, batched.

        ``first_batch``: number of the first batch in the request ids, for a
        caller that sends one run in several calls (each a whole number of
        batches), so the ids are those of one call with everything.

        Raises TTPError before any call for type B without justification or for
        duplicate refs, TTPRefused on a 4xx, TTPUnavailable when retries run out,
        and TTPError when an answer is incomplete.
        """
        items = list(records)
        _check_run_id(run_id)
        requested: set[str] = set()
        for r in items:
            requested.update(r.digests)
            if r.mrn_ciphertext is not None:
                requested.add(_MRN)
        check_bsn_allowed(registration, {str(t) for t in requested}, bsn_justification)
        if len({r.ref for r in items}) != len(items):
            raise TTPError(f"registration {registration!r}: record refs must be unique")
        pseudonyms: dict[str, Mapping[str, str]] = {}
        batches: list[BatchReceipt] = []
        counts: dict[str, int] = {}

        def call(index: int, batch: Sequence[PseudonymInputs]) -> Any:
            request_id = f"{run_id}:{registration}:temporary:{index:05d}"
            return self._request(
                "POST",
                "/pseudonyms/temporary",
                registration=registration,
                what=f"temporary pseudonyms batch {index}",
                json_body={
                    "registration": registration,
                    "request_id": request_id,
                    "profile_version": profile_version,
                    "records": [
                        {"ref": r.ref, "digests": {str(k): v for k, v in r.digests.items()}}
                        | ({"mrn_ciphertext": r.mrn_ciphertext} if r.mrn_ciphertext else {})
                        for r in batch
                    ],
                },
            )

        numbered = ((first_batch + i, b) for i, b in _batches(items, self.batch_size))
        for index, batch, answer in self._in_flight(numbered, call):
            request_id = f"{run_id}:{registration}:temporary:{index:05d}"
            version = int(answer["key_version"])
            returned = self._check_refs(
                registration, request_id, [r.ref for r in batch], answer.get("records")
            )
            sent = {r.ref: r for r in batch}
            prefixes = {code: f"{TEMPORARY_MARKER}:{code}:v{version}:" for code in requested}
            prefixes[_MRN] = f"{_MRN}:v{version}:"
            for record in returned:
                ref = record["ref"]
                labels: Any = record.get("pseudonyms")
                if not _expected_labels(labels, sent[ref], prefixes):
                    # The precise check names what is wrong (or accepts an unusual form).
                    labels = self._check_labels(
                        registration,
                        request_id,
                        sent[ref].types,
                        labels,
                        kind="temporary",
                        version=version,
                    )
                pseudonyms[ref] = MappingProxyType(dict(labels))
                for code in labels:
                    counts[code] = counts.get(code, 0) + 1
            batches.append(
                BatchReceipt(request_id, str(answer["batch_id"]), len(batch), (version,))
            )
            log.info(
                "TTP batch %d for %s: %d records, key version %d",
                index,
                registration,
                len(batch),
                version,
            )
        return PseudonymResult(
            registration=registration,
            kind="temporary",
            pseudonyms=MappingProxyType(pseudonyms),
            key_versions=frozenset(v for b in batches for v in b.key_versions),
            batches=tuple(batches),
            type_counts=MappingProxyType(counts),
        )

    def exchange(
        self,
        registration: str,
        records: Iterable[RecordPseudonyms],
        *,
        run_id: str,
        target_version: int | None = None,
    ) -> PseudonymResult:
        """Registry holder: definitive pseudonyms for temporary ones, batched.

        ``target_version`` None keeps each pseudonym's key version (the label
        says which); a number converts to that version (rotation).
        """
        items = list(records)
        _check_run_id(run_id)
        if len({r.ref for r in items}) != len(items):
            raise TTPError(f"registration {registration!r}: record refs must be unique")
        pseudonyms: dict[str, Mapping[str, str]] = {}
        batches: list[BatchReceipt] = []
        counts: dict[str, int] = {}
        for index, batch in _batches(items, self.batch_size):
            request_id = f"{run_id}:{registration}:exchange:{index:05d}"
            body: dict[str, Any] = {
                "registration": registration,
                "request_id": request_id,
                "records": [{"ref": r.ref, "pseudonyms": dict(r.pseudonyms)} for r in batch],
            }
            if target_version is not None:
                body["target_version"] = target_version
            answer = self._request(
                "POST",
                "/pseudonyms/exchange",
                registration=registration,
                what=f"exchange batch {index}",
                json_body=body,
            )
            returned = self._check_refs(
                registration, request_id, [r.ref for r in batch], answer.get("records")
            )
            wanted = {r.ref: frozenset(r.pseudonyms) for r in batch}
            for record in returned:
                labels = self._check_labels(
                    registration,
                    request_id,
                    wanted[record["ref"]],
                    record.get("pseudonyms"),
                    kind="definitive",
                    version=target_version,
                )
                pseudonyms[record["ref"]] = MappingProxyType(dict(labels))
                for code in labels:
                    counts[code] = counts.get(code, 0) + 1
            versions = tuple(int(v) for v in answer.get("source_key_versions", ()))
            batches.append(BatchReceipt(request_id, str(answer["batch_id"]), len(batch), versions))
        key_versions = (
            frozenset({target_version})
            if target_version is not None
            else frozenset(v for b in batches for v in b.key_versions)
        )
        return PseudonymResult(
            registration=registration,
            kind="definitive",
            pseudonyms=MappingProxyType(pseudonyms),
            key_versions=key_versions,
            batches=tuple(batches),
            type_counts=MappingProxyType(counts),
        )

    def reverse_mrn(self, registration: str, pseudonyms: Sequence[str]) -> tuple[str, ...]:
        """The hospital's own MRN ciphertexts for its MRN pseudonyms, in order.

        Only the hospital that asked for the MRN pseudonyms gets them back (the
        TTP answers 403 to anyone else); decrypting them needs the hospital's key.
        """
        out: list[str] = []
        for index, batch in _batches(list(pseudonyms), self.batch_size):
            answer = self._request(
                "POST",
                "/mrn/reverse",
                registration=registration,
                what=f"MRN reversal batch {index}",
                json_body={"registration": registration, "pseudonyms": list(batch)},
            )
            ciphertexts = answer.get("ciphertexts")
            if not isinstance(ciphertexts, list) or len(ciphertexts) != len(batch):
                raise TTPError(
                    f"TTP MRN reversal for {registration!r}: {len(batch)} sent, answer has "
                    f"{len(ciphertexts) if isinstance(ciphertexts, list) else 'no'} ciphertexts"
                )
            out.extend(str(c) for c in ciphertexts)
        return tuple(out)

    def upload_local(
        self,
        registration: str,
        folder: Path,
        manifest: Manifest,
        *,
        profile_version: str,
        request_id: str | None = None,
        bsn_justification: str | None = None,
    ) -> LocalUploadResult:
        """Local-client mode: upload a staged delivery; the TTP pseudonymises and forwards it.

        The files in ``folder`` are those of ``manifest``; records carry source
        digests in ``pseudonym_inputs`` (JSON) or ``pseudonym_input.<TYPE>``
        columns (CSV). ``request_id`` defaults to the manifest's idempotency
        key, so a retried delivery is answered, not served twice. Returns the
        registry holder's receipt.
        """
        request_id = request_id or manifest.idempotency_key
        _check_run_id(request_id)
        files = []
        declared = set(manifest.pseudonym_types)
        for entry in manifest.files:
            data = (folder / entry.name).read_bytes()
            declared |= _input_types(entry.name, data)
            files.append(("files", (entry.name, data, entry.media_type)))
        check_bsn_allowed(registration, declared, bsn_justification)
        answer = self._request(
            "POST",
            "/local/deliveries",
            registration=registration,
            what="local-mode upload",
            form={
                "registration": registration,
                "request_id": request_id,
                "profile_version": profile_version,
                "manifest": manifest.to_json(),
            },
            files=files,
        )
        reports = tuple(
            LocalFileReport(
                name=str(item["name"]),
                records=int(item["records"]),
                pseudonyms=MappingProxyType(
                    {str(k): int(v) for k, v in item["pseudonyms"].items()}
                ),
            )
            for item in answer.get("files", [])
        )
        if sorted(r.name for r in reports) != sorted(e.name for e in manifest.files):
            raise TTPError(
                f"TTP answer to local upload {request_id} ({registration}) does not cover "
                "every file of the manifest"
            )
        return LocalUploadResult(
            registration=registration,
            request_id=request_id,
            batch_id=str(answer["batch_id"]),
            key_version=int(answer["key_version"]),
            files=reports,
            forward_attempts=int(answer["forward_attempts"]),
            receipt=Receipt.from_mapping(answer["receipt"], "ttp-local"),
        )


_JSON_INPUTS = re.compile(rb'"pseudonym_inputs"\s*:\s*\{([^}]*)\}')
_JSON_KEYS = re.compile(rb'"([A-Za-z]{1,8})"\s*:')
_SYSTEM_INPUT = re.compile(rb"urn:aanlevering:pseudonym-input:([A-Za-z]{1,8})\"")


def _input_types(name: str, data: bytes) -> set[str]:
    """Pseudonym types a staged file asks the TTP for (for the local B check)."""
    if name.lower().endswith(".csv"):
        header = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        return {
            column.strip().strip('"').removeprefix("pseudonym_input.")
            for column in re.split(r"[,;\t|]", header)
            if column.strip().strip('"').startswith("pseudonym_input.")
        }
    types = {m.decode() for m in _SYSTEM_INPUT.findall(data)}
    for block in _JSON_INPUTS.findall(data):
        types.update(m.decode() for m in _JSON_KEYS.findall(block))
    return types


def _check_run_id(run_id: str) -> None:
    if not _RUN_ID.match(run_id):
        raise TTPError(
            "run id must be 1-151 characters of letters, digits and ._:@/+- "
            "(it becomes part of the TTP request ids)"
        )
