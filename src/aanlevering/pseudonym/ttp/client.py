"""The TTP's use cases as one organisation sees them: temporary pseudonyms, exchange, MRN reversal.

What it adds over the transport: batching (``batch_size`` records per call)
with request ids derived from a run id and the batch index, so a retried run
reuses them and the TTP answers from its idempotency cache instead of serving
twice; the checks before any call (:mod:`.guards`) and on every answer
(:mod:`.answers`). The local-mode upload builds on :meth:`TTPClient.local_delivery`
in ``deliver.channels.ttp_local``, which knows manifests and receipts.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from aanlevering.errors import ConfigError, TTPError
from aanlevering.private_files import check_key_file
from aanlevering.pseudonym.key_check import SourceKeyCheck
from aanlevering.pseudonym.ttp.answers import LabelCheck, check_refs
from aanlevering.pseudonym.ttp.columns import (
    ColumnPseudonyms,
    as_column,
    batch_body,
    check_payload_lengths,
    label_head,
    read_answer,
)
from aanlevering.pseudonym.ttp.guards import check_bsn_allowed, check_run_id
from aanlevering.pseudonym.ttp.models import (
    BatchReceipt,
    PseudonymInputs,
    PseudonymResult,
    RecordPseudonyms,
    TTPHealth,
)
from aanlevering.pseudonym.ttp.one_to_one import OneToOne
from aanlevering.pseudonym.ttp.transport import (
    DEFAULT_ANSWER_TIMEOUT,
    DEFAULT_CONCURRENCY,
    FilePart,
    Transport,
)
from aanlevering.pseudonym_types import PseudonymType
from aanlevering.tls import ClientTLS

if TYPE_CHECKING:  # only for the ``session`` argument's type (0741)
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_BATCH_SIZE = 5000
URL_ENV = "AANLEVERING_TTP_URL"
API_KEY_ENV = "AANLEVERING_TTP_API_KEY"
API_KEY_FILE_ENV = "AANLEVERING_TTP_API_KEY_FILE"

_MRN = PseudonymType.MRN.value


def load_api_key(env: Mapping[str, str] | None = None) -> str:
    """The API key from ``AANLEVERING_TTP_API_KEY`` or the file in ``..._API_KEY_FILE``."""
    env = os.environ if env is None else env
    if env.get(API_KEY_ENV):
        return env[API_KEY_ENV].strip()
    path = env.get(API_KEY_FILE_ENV)
    if not path:
        raise ConfigError(f"set {API_KEY_ENV} or {API_KEY_FILE_ENV} to reach the TTP")
    check_key_file(path, "TTP API key")
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the TTP API key ({error.strerror})") from None
    if not key:
        raise ConfigError(f"{path}: the TTP API key file is empty")
    return key


def _batches(items: Sequence[T], size: int) -> Iterator[tuple[int, Sequence[T]]]:
    for index, start in enumerate(range(0, len(items), size)):
        yield index, items[start : start + size]


def _unique_refs(registration: str, refs: Iterable[str], count: int) -> None:
    if len(set(refs)) != count:
        raise TTPError(f"registration {registration!r}: record refs must be unique")


def _one_to_one(
    whole: OneToOne,
    where: str,
    version: int,
    batch: Sequence[PseudonymInputs],
    pseudonyms: Mapping[str, Mapping[str, str]],
) -> None:
    """The record form's answer to one batch, checked as the column form's (decision 0440)."""
    codes = {code for r in batch for code in r.types}
    for code in sorted(codes):
        sent = [
            r.mrn_ciphertext if code == _MRN else r.digests.get(code)
            for r in batch
            if code in r.types
        ]
        got = [pseudonyms[r.ref][code] for r in batch if code in r.types]
        inputs, labels = pa.array(sent, pa.string()), pa.array(got, pa.string())
        skip = len(label_head(code, version))
        check_payload_lengths(where, code, labels, inputs if code == _MRN else None, skip)
        whole.add(where, code, version, inputs, labels, skip=skip)


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
        tls: ClientTLS | None = None,
        source_key_checks: Mapping[str, SourceKeyCheck] | None = None,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT,
    ) -> None:
        if batch_size < 1 or max_retries < 0:
            raise ValueError("batch_size must be >= 1 and max_retries >= 0")
        self.batch_size = batch_size
        #: Per registration, the check value of this hospital's source key (decision 0224).
        self.source_key_checks = dict(source_key_checks or {})
        self.transport = Transport(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            concurrency=concurrency,
            session=session,
            sleep=sleep,
            tls=tls,
            answer_timeout=answer_timeout,
        )

    @property
    def base_url(self) -> str:
        """The TTP's base URL (without a trailing slash)."""
        return self.transport.base_url

    def __repr__(self) -> str:
        return f"TTPClient({self.base_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> TTPClient:
        """A client for ``AANLEVERING_TTP_URL`` (default the local reference TTP).

        TLS towards the TTP comes from "AANLEVERING_TTP_CA_FILE",
        "AANLEVERING_TTP_CLIENT_CERT_FILE", "AANLEVERING_TTP_CLIENT_KEY_FILE" and
        "AANLEVERING_TTP_ALLOW_INSECURE_HTTP" (see :meth:`ClientTLS.from_env`).
        """
        env = os.environ if env is None else env
        options.setdefault("tls", ClientTLS.from_env("AANLEVERING_TTP", env))
        return cls(env.get(URL_ENV) or DEFAULT_URL, load_api_key(env), **options)

    def source_key_check(
        self, registration: str, explicit: SourceKeyCheck | None = None
    ) -> SourceKeyCheck:
        """The check value a request for ``registration`` carries; TTPError before any call.

        Why refuse without one: the TTP compares it with the value every other
        hospital of the registration sent, which is the only place a
        hospital with a different source key (0 % linkage) is noticed.
        """
        check = explicit or self.source_key_checks.get(registration)
        if check is None:
            raise TTPError(
                f"no source key check value for registration {registration!r}: requests to the "
                "TTP must say which shared source key made the digests (see `aanlevering keys "
                "import`)"
            )
        return check

    def health(self) -> TTPHealth:
        """Whether the TTP is up (no API key needed)."""
        body = self.transport.request("GET", "/health", registration=None, what="health check")
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
        source_key_check: SourceKeyCheck | None = None,
    ) -> PseudonymResult:
        """Web mode: temporary (and MRN) pseudonyms for every record, batched.

        ``source_key_check`` names the source key the digests were made with
        (default: the client's ``source_key_checks`` entry for the registration).

        ``first_batch``: number of the first batch in the request ids, for a
        caller that sends one run in several calls (each a whole number of
        batches), so the ids are those of one call with everything.

        Raises TTPError before any call for type B without justification or for
        duplicate refs, TTPRefused on a 4xx, TTPUnavailable when retries run out,
        and TTPError when an answer is incomplete.
        """
        items = list(records)
        check_run_id(run_id)
        requested: set[str] = set()
        for r in items:
            requested.update(r.digests)
            if r.mrn_ciphertext is not None:
                requested.add(_MRN)
        check_bsn_allowed(registration, {str(t) for t in requested}, bsn_justification)
        _unique_refs(registration, (r.ref for r in items), len(items))
        key_check = self.source_key_check(registration, source_key_check)
        pseudonyms: dict[str, Mapping[str, str]] = {}
        batches: list[BatchReceipt] = []
        counts: dict[str, int] = {}

        def call(index: int, batch: Sequence[PseudonymInputs]) -> Any:
            request_id = f"{run_id}:{registration}:temporary:{index:05d}"
            return self.transport.request(
                "POST",
                "/pseudonyms/temporary",
                registration=registration,
                what=f"temporary pseudonyms batch {index}",
                json_body={
                    "registration": registration,
                    "request_id": request_id,
                    "profile_version": profile_version,
                    "source_key": key_check.as_json(),
                    "records": [
                        {"ref": r.ref, "digests": {str(k): v for k, v in r.digests.items()}}
                        | ({"mrn_ciphertext": r.mrn_ciphertext} if r.mrn_ciphertext else {})
                        for r in batch
                    ],
                },
            )

        numbered = ((first_batch + i, b) for i, b in _batches(items, self.batch_size))
        whole = OneToOne(registration)
        for index, batch, answer in self.transport.in_flight(numbered, call):
            request_id = f"{run_id}:{registration}:temporary:{index:05d}"
            version = int(answer["key_version"])
            returned = check_refs(
                registration, request_id, [r.ref for r in batch], answer.get("records")
            )
            sent = {r.ref: r for r in batch}
            check = LabelCheck(registration, request_id, kind="temporary", version=version).check
            for record in returned:
                ref = record["ref"]
                inputs = sent[ref]
                labels = check(
                    record.get("pseudonyms"),
                    inputs.digests,
                    _MRN if inputs.mrn_ciphertext is not None else None,
                )
                pseudonyms[ref] = MappingProxyType(dict(labels))
                for code in labels:
                    counts[code] = counts.get(code, 0) + 1
            _one_to_one(
                whole, f"TTP answer to {request_id} ({registration})", version, batch, pseudonyms
            )
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
        whole.check()
        return PseudonymResult(
            registration=registration,
            kind="temporary",
            pseudonyms=MappingProxyType(pseudonyms),
            key_versions=frozenset(v for b in batches for v in b.key_versions),
            batches=tuple(batches),
            type_counts=MappingProxyType(counts),
        )

    def temporary_columns(
        self,
        registration: str,
        digests: Mapping[str, pa.Array],
        mrn_ciphertexts: pa.Array | None,
        *,
        run_id: str,
        profile_version: str,
        bsn_justification: str | None = None,
        first_batch: int = 0,
        source_key_check: SourceKeyCheck | None = None,
        one_to_one: OneToOne | None = None,
    ) -> ColumnPseudonyms:
        """:meth:`temporary_pseudonyms` in columns (``/pseudonyms/temporary/columns``).

        ``digests``: per type (not MRN) one hex digest per row, null where the
        row has none; ``mrn_ciphertexts`` likewise (or None). Every row must
        have some input. Answers are labels per type in row order, checked as
        :mod:`.columns` says. The same batches, request ids and checks before
        any call as the record form.

        ``one_to_one``: the run's :class:`OneToOne`, for a caller that sends a
        run in several calls and checks it once at the end; without one, this
        call's answers are checked as a whole before they are returned.
        """
        check_run_id(run_id)
        columns = {str(code): as_column(column) for code, column in digests.items()}
        mrn = as_column(mrn_ciphertexts) if mrn_ciphertexts is not None else None
        requested = {code for code, column in columns.items() if column.null_count < len(column)}
        if mrn is not None and mrn.null_count < len(mrn):
            requested.add(_MRN)
        check_bsn_allowed(registration, requested, bsn_justification)
        key_check = self.source_key_check(registration, source_key_check).as_json()
        rows = len(mrn) if mrn is not None else len(next(iter(columns.values()), pa.array([])))
        spans = [
            (start, min(rows, start + self.batch_size)) for start in range(0, rows, self.batch_size)
        ]

        def call(index: int, span: Sequence[int]) -> Any:
            start, stop = span
            request_id = f"{run_id}:{registration}:temporary:{index:05d}"
            sent = {c: column.slice(start, stop - start) for c, column in columns.items()}
            body = batch_body(
                registration,
                request_id,
                profile_version=profile_version,
                source_key=key_check,
                digests=sent,
                mrn=mrn.slice(start, stop - start) if mrn is not None else None,
            )
            answer = self.transport.request(
                "POST",
                "/pseudonyms/temporary/columns",
                registration=registration,
                what=f"temporary pseudonyms batch {index}",
                json_body=body,
            )
            return body, answer

        labels: dict[str, list[pa.Array]] = {code: [] for code in sorted(requested)}
        batches: list[BatchReceipt] = []
        whole = one_to_one or OneToOne(registration)
        numbered = ((first_batch + i, span) for i, span in enumerate(spans))
        for index, span, (body, answer) in self.transport.in_flight(numbered, call):
            request_id = body["request_id"]
            count = span[1] - span[0]
            got, version = read_answer(
                registration,
                request_id,
                body,
                answer,
                mrn_sent=mrn.slice(span[0], count) if mrn is not None else None,
            )
            where = f"TTP answer to {request_id} ({registration})"
            for code, column in got.items():
                sent_column = mrn if code == _MRN else columns[code]
                assert sent_column is not None
                whole.add(
                    where,
                    code,
                    version,
                    sent_column.slice(span[0], count),
                    column,
                    skip=len(label_head(code, version)),
                )
            for code, parts in labels.items():
                parts.append(got.get(code, pa.nulls(count, pa.string())))
            batches.append(BatchReceipt(request_id, str(answer.get("batch_id")), count, (version,)))
            log.info(
                "TTP batch %d for %s: %d records, key version %d",
                index,
                registration,
                count,
                version,
            )
        if one_to_one is None:
            whole.check()
        joined = {code: pa.concat_arrays(parts) for code, parts in labels.items() if parts}
        return ColumnPseudonyms(
            registration=registration,
            labels=joined,
            key_versions=frozenset(v for b in batches for v in b.key_versions),
            batches=tuple(batches),
            type_counts={code: len(a) - a.null_count for code, a in joined.items()},
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
        check_run_id(run_id)
        _unique_refs(registration, (r.ref for r in items), len(items))
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
            answer = self.transport.request(
                "POST",
                "/pseudonyms/exchange",
                registration=registration,
                what=f"exchange batch {index}",
                json_body=body,
            )
            returned = check_refs(
                registration, request_id, [r.ref for r in batch], answer.get("records")
            )
            wanted = {r.ref: r.pseudonyms for r in batch}
            check = LabelCheck(
                registration, request_id, kind="definitive", version=target_version
            ).check
            for record in returned:
                labels = check(record.get("pseudonyms"), wanted[record["ref"]])
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
            answer = self.transport.request(
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

    def local_delivery(
        self,
        registration: str,
        *,
        request_id: str,
        profile_version: str,
        manifest_json: str,
        files: Sequence[FilePart],
        source_key_check: SourceKeyCheck | None = None,
    ) -> Any:
        """Local-client mode: POST a staged delivery; the TTP pseudonymises and forwards it.

        The TTP's answer is returned as decoded JSON: reading it (file
        reports, the registry holder's receipt) is the ttp-local channel's job,
        which knows manifests and receipts. The caller checks the run id and
        type B first (:mod:`.guards`).
        """
        key_check = self.source_key_check(registration, source_key_check)
        return self.transport.request(
            "POST",
            "/local/deliveries",
            registration=registration,
            what="local-mode upload",
            form={
                "registration": registration,
                "request_id": request_id,
                "profile_version": profile_version,
                "manifest": manifest_json,
                "source_key_check": key_check.as_form(),
            },
            files=files,
        )
