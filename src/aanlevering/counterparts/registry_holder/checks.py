"""What the reference registry holder checks before it receipts a delivery.

Uploads are read with :func:`aanlevering.json_input.parse`, as the hospital reads
its inputs: a key written twice in one JSON object is refused naming file, line and
key (decision 0850), where ``json.loads`` kept the last member and checked a
document other than the one a first-wins reader sees.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.counterparts.registry_holder import csv_layout
from aanlevering.counterparts.registry_holder.closure import Closure
from aanlevering.counterparts.registry_holder.counts import RecordTally
from aanlevering.counterparts.registry_holder.file_types import (
    FORMAT_FILES,
    NOT_READ,
    UNKNOWN_FORMAT,
    bundle_type_problem,
    format_problem,
    is_read,
    is_resource_type,
    name_problem,
    other_type_problem,
    promised_type,
)
from aanlevering.counterparts.registry_holder.people import person_problem
from aanlevering.counterparts.registry_holder.pseudonymised import (
    PSEUDONYM_FORM,
    Pseudonymised,
    contains_probable_bsn,
    is_pseudonym_of,
    is_temporary,
    never_exchanged,
)
from aanlevering.counterparts.registry_holder.refusal import Refusal, per_file
from aanlevering.counterparts.registry_holder.row_shape import records, shape_problem
from aanlevering.counterparts.registry_holder.terms import RegistrationTerms
from aanlevering.counterparts.registry_holder.unreadable import NOT_COUNTED, Unread, not_utf8
from aanlevering.counterparts.registry_holder.versions import HeldVersion, version_problems
from aanlevering.deliver.manifest import Manifest, arrival_problem, idempotency_key
from aanlevering.errors import ConfigError
from aanlevering.json_input import JsonInputError, parse
from aanlevering.periods import Period

#: Resources validated per file with the R4B models; the rest are counted only.
VALIDATE_LIMIT = 5000


class _UnreadableLine(ValueError):
    """An NDJSON line that is no acceptable JSON (its reason names no value)."""

    def __init__(self, number: int, error: JsonInputError) -> None:
        self.number = number
        column = f" (column {error.column})" if error.column is not None else ""
        super().__init__(f"line {number}: {error.reason}{column}")


def _ndjson(path: Path) -> Iterator[tuple[int, object]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, parse(line)
                except JsonInputError as error:
                    raise _UnreadableLine(number, error) from None


def _type_problem(resource: dict[str, Any]) -> str | None:
    """Why ``resource`` is no FHIR resource at all; checked for every one (decision 0981).

    Why every one: the R4B models validate only the first VALIDATE_LIMIT, and
    a line or entry past them without a (known) ``resourceType`` was
    receipted. The type a sender wrote is never echoed: it may hold anything.
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "resource without resourceType"
    if not is_resource_type(resource_type):
        return "a resourceType that is no FHIR R4B resource type"
    return None


def _validate_resource(resource: dict[str, Any]) -> str | None:
    from fhir.resources.R4B import get_fhir_model_class

    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "resource without resourceType"
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
        return f"{resource_type} invalid: {str(error).splitlines()[0]}"
    return None


def _patient_problem(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") != "Patient":
        return None
    if resource.get("name") or resource.get("telecom"):
        return "Patient carries name or telecom: must be removed before delivery"
    if not all(_is_pc4_only(address) for address in resource.get("address") or ()):
        return (
            "Patient carries an address beyond a 4-digit postal code: "
            "must be generalised before delivery"
        )
    return None


def _is_pc4_only(address: object) -> bool:
    """An address that is only the 4 digits of a Dutch postal code (the generalised form)."""
    if not isinstance(address, dict) or set(address) - {"postalCode", "use"}:
        return False
    code = address.get("postalCode")
    return isinstance(code, str) and len(code) == 4 and code.isdigit()


#: A second resource at one address: a FHIR store keeps one, the counts counted two (1035).
_DELIVERED_TWICE = (
    "a {type} at the address (Type/id or fullUrl) of an earlier resource of the delivery: "
    "each resource is delivered once (a store keeps one of them, the counts counted both)"
)


class _Resources:
    """Checks every resource of one delivery; the R4B models only the first VALIDATE_LIMIT.

    Why every resource for the rest: a leak in resource 5001 is as much a leak
    as one in resource 1, and these checks are cheap (decision 0432).
    """

    def __init__(self, manifest: Manifest, terms: RegistrationTerms | None = None) -> None:
        self.closure = Closure()
        self.privacy = Pseudonymised(
            manifest.registration, manifest.pseudonym_types, manifest.ttp_mode
        )
        self.tally = RecordTally(manifest, terms)
        self.terms = terms
        self.registration = manifest.registration
        self.validated = 0

    def problem(
        self, resource: object, where: str, full_url: object = None, promised: str | None = None
    ) -> str | None:
        """Record ``resource`` for the closure; the first thing wrong with it, or None.

        ``promised``: the type the name of the NDJSON file it was read from promises.
        """
        if not isinstance(resource, dict):
            return "not a JSON object"
        again = self.closure.add(resource, where, full_url if isinstance(full_url, str) else None)
        if problem := (
            _type_problem(resource)
            or other_type_problem(promised, resource.get("resourceType"))
            or self._unexpected_type(resource)
            or person_problem(resource)  # a person only as the Patient (decision 1004)
        ):
            return problem
        if again:
            return _DELIVERED_TWICE.format(type=resource["resourceType"])
        problem = (
            self.privacy.problem(resource)
            or _patient_problem(resource)
            or self.tally.add_resource(resource)
        )
        if problem is None and self.validated < VALIDATE_LIMIT:
            self.validated += 1
            problem = _validate_resource(resource)
        return problem

    def _unexpected_type(self, resource: dict[str, Any]) -> str | None:
        if self.terms is None:
            return None  # the registration's terms unknown: any type may be expected
        return self.terms.resource_type_problem(resource.get("resourceType"), self.registration)


def _fhir_problems(path: Path, resources: _Resources) -> tuple[int | None, list[str]]:
    """Count and check the resources of one file; unreadable content is one problem.

    The count is None for an unreadable file: its records were not counted, and
    no count mismatch is made up from it (decision 0970).
    """
    try:
        return _fhir_file_problems(path, resources)
    except UnicodeDecodeError:
        return None, [not_utf8(path)]
    except _UnreadableLine as error:
        return None, [f"{path.name} {error}; {NOT_COUNTED}"]
    except JsonInputError as error:
        return None, [f"{path.name}: {error}; {NOT_COUNTED}"]
    except RecursionError:
        return None, [f"{path.name}: JSON nested too deeply; {NOT_COUNTED}"]


def _fhir_file_problems(path: Path, resources: _Resources) -> tuple[int | None, list[str]]:
    """Count and check one readable FHIR file; None for a document that is no Bundle.

    A ``.json`` file that is no Bundle (a single resource, an entry that is no
    list) is not read at all: its records were not counted, and no count
    mismatch is made up from it (decision 0970).
    """
    problems: list[str] = []
    count = 0
    if path.suffix == ".ndjson":
        promised = promised_type(path)
        for number, resource in _ndjson(path):
            count += 1
            where = f"{path.name} line {number}"
            if problem := resources.problem(resource, where, promised=promised):
                problems.append(f"{where}: {problem}")
        return count, problems
    bundle = _one_document(path)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None, [f"{path.name}: not a Bundle; {NOT_COUNTED}"]
    entries = bundle.get("entry", ())
    if not isinstance(entries, list):
        return None, [f"{path.name}: Bundle.entry is not a list; {NOT_COUNTED}"]
    if problem := bundle_type_problem(path.name, bundle.get("type")):
        problems.append(problem)
    for index, entry in enumerate(entries):
        count += 1
        where = f"{path.name} entry {index}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        if "resource" not in entry:
            problems.append(f"{where}: an entry without a resource (every entry holds one)")
            continue
        if problem := resources.problem(entry["resource"], where, entry.get("fullUrl")):
            problems.append(f"{where}: {problem}")
    return count, problems


#: What a JSON data file holds, said when it holds more (NDJSON lines, decision 1002).
_ONE_BUNDLE = "a JSON data file holds one Bundle; NDJSON lines go in <ResourceType>.ndjson"


def _one_document(path: Path) -> object:
    """The one JSON value of a ``.json`` data file; more than one is refused saying where
    they go (a file of NDJSON lines named ``.json`` read as nothing else, decision 1002)."""
    try:
        return parse(path.read_bytes())
    except JsonInputError as error:
        if error.reason != "Extra data" or error.line is None:
            raise
        raise _UnreadableLine(
            error.line, JsonInputError(f"more than one JSON value ({_ONE_BUNDLE})")
        ) from None


def _csv_problems(
    path: Path, manifest: Manifest, terms: RegistrationTerms | None
) -> tuple[int | None, list[str]]:
    """Count the records of one CSV file; a header other than the dictionary's columns
    (without the terms: other than the documented layout, decision 1006), BSN-like
    cells and unreadable text are problems.

    Quoting is strict: a file cut off inside a quoted cell is broken, not one
    record fewer (decision 0970). The count is None for an unreadable file.
    """
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = ";" if sample.count(";") >= sample.count(",") else ","
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            try:
                header = next(reader, [])
                known = frozenset((terms.columns(path.name, manifest) or ()) if terms else ())
                count, problems = _csv_rows(path.name, header, reader, known, manifest.ttp_mode)
            except csv.Error as error:
                return None, [
                    f"{path.name} line {reader.line_num}: not readable as CSV ({error}; "
                    f"expected {delimiter!r}-separated cells with closed quotes); {NOT_COUNTED}"
                ]
        if terms is not None:
            problem = terms.header_problem(path.name, header, manifest)
        else:  # the manifest and the documented layout only (decision 1006)
            problem = csv_layout.header_problem(path.name, header, manifest)
        if problem is not None:
            problems.insert(0, problem)
        return count, problems
    except UnicodeDecodeError:
        return None, [not_utf8(path)]


def _csv_rows(
    name: str,
    header: list[str],
    reader: Iterator[list[str]],
    known: frozenset[str],
    ttp_mode: str = "web",
) -> tuple[int | None, list[str]]:
    """Count rows and find BSN-like cells; a column is named only if the dictionary has it.

    Why: line 1 of a file that is not what it should be may hold anything,
    a patient's data too (decision 0370); its cells are never quoted. A record
    with another number of cells than the header is damaged: the file's
    records are not counted (None), so no count mismatch is made up (0980).
    """
    problems = [
        f"{name} row 1 column {index}: a column name that looks like a BSN"
        for index, cell in enumerate(header, start=1)
        if contains_probable_bsn(cell)
    ]
    pseudonyms = _pseudonym_columns(header)
    count = 0
    damaged = 0
    for number, (line, row) in enumerate(records(reader), start=2):
        count += 1
        if shape := shape_problem(name, line, header, row):
            damaged += 1
            problems.append(f"{shape}; {NOT_COUNTED}")
        for index, code in pseudonyms:
            cell = row[index] if index < len(row) else ""
            if cell and not is_pseudonym_of(code, cell):
                problems.append(
                    f"{name} row {number} column {header[index]!r}: a value that is no {code} "
                    f"pseudonym {PSEUDONYM_FORM}: identifiers must be pseudonymised"
                )
            elif ttp_mode != "web" and is_temporary(cell):
                problems.append(
                    f"{name} row {number} column {header[index]!r}: {never_exchanged(ttp_mode)}"
                )
        for index, cell in enumerate(row):
            if contains_probable_bsn(cell):
                column = header[index] if index < len(header) else None
                shown = repr(column) if column in known else str(index + 1)
                problems.append(
                    f"{name} row {number} column {shown}: a value that looks like a BSN "
                    "(nine digits passing the eleven-test): identifiers must be pseudonymised"
                )
    return (None if damaged else count), problems


def _pseudonym_columns(header: list[str]) -> list[tuple[int, str]]:
    """(position, type) of each ``pseudoniem_<type>`` column: its cells are pseudonyms (1009).

    An empty cell is left to the layout's other checks: a patient may lack a type's input.
    """
    return [
        (index, match.group(1))
        for index, column in enumerate(header)
        if (match := _PSEUDONYM_COLUMN.fullmatch(column)) is not None
    ]


_PSEUDONYM_COLUMN = re.compile(r"pseudoniem_([A-Za-z]{1,8})")


def manifest_problems(manifest: Manifest) -> list[str]:
    """What makes a manifest unacceptable whatever the files hold (decision 0431).

    A name listed twice would be checked and counted twice but stored once; a
    delivery (not a retraction) without data files delivers nothing, and a
    receipt for it would count a period as delivered.
    A delivery's format is one the product writes: a real holder's intake is
    chosen by it (decision 1005). A delivery names at least one pseudonym
    type: with none, no pseudonym column or identifier is required, and a
    delivery linking no record to a patient was receipted (decision 1032).
    """
    problems = []
    seen: set[str] = set()
    for item in manifest.transferred():
        if item.name in seen:
            problems.append(f"{item.name}: named more than once in the manifest")
        seen.add(item.name)
    if manifest.kind == "delivery" and not manifest.files:
        problems.append("the manifest lists no data files: a delivery holds at least one")
    if manifest.kind == "retraction" and manifest.files:
        problems.append("a retraction holds no data files")
    if manifest.kind == "retraction" and manifest.record_counts:
        # Its receipt repeats them: the hospital would show a withdrawal's records (1038).
        problems.append("a retraction counts no records: its record_counts is empty")
    if manifest.kind == "delivery" and manifest.format not in FORMAT_FILES:
        problems.append(UNKNOWN_FORMAT)  # its files are read by their names (decision 1005)
    if manifest.kind == "delivery" and not manifest.pseudonym_types:
        problems.append(NO_PSEUDONYM_TYPE)  # decision 1032
    return problems + _period_problems(manifest) + _supersedes_problems(manifest)


#: A delivery without pseudonym types: nothing would link its records to a patient (1032).
NO_PSEUDONYM_TYPE = (
    "pseudonym_types is empty: a pseudonymised delivery carries at least one pseudonym type"
)


def _period_problems(manifest: Manifest) -> list[str]:
    """The period is a calendar period and ``period_start``/``period_end`` lie in it (0721).

    Why: a holder files a delivery under its period; a label that is no
    period, or dates that are another period's, would file records under a
    period they do not belong to. ``period_end`` may be earlier than the
    period's end: a run of a period not yet closed covers the days up to its
    run day (decision 0393).
    """
    try:
        period = Period.parse(manifest.period)
    except ConfigError:
        return [f"period {manifest.period!r} is not a year (2026), quarter (2026-Q1) or month"]
    try:
        start = date.fromisoformat(manifest.period_start)
        end = date.fromisoformat(manifest.period_end)
    except ValueError:
        return ["period_start and period_end must be dates (YYYY-MM-DD)"]
    if start != period.start or not start < end <= period.end:
        return [
            f"period_start {manifest.period_start} and period_end {manifest.period_end} are not "
            f"those of period {period.label} (from {period.start}, before {period.end})"
        ]
    return []


def _supersedes_problems(manifest: Manifest) -> list[str]:
    """``supersedes`` names an earlier version of this provider's registration and period.

    Why: a delivery or retraction superseding another provider's key, another
    period's or a later version would have the holder replace data that is not
    this delivery's to replace (decision 0436).
    """
    if manifest.version < 1:
        # A v0 (or below) would be receipted before any v1 (decision 1036).
        return [f"version {manifest.version} is no version: versions are numbered from 1"]
    if manifest.supersedes is None:
        return (
            ["a retraction names the version it retracts"] if manifest.kind == "retraction" else []
        )
    earlier = {
        key
        for version in range(1, manifest.version)
        for key in (
            idempotency_key(manifest.provider_id, manifest.registration, manifest.period, version),
            # A key recorded before keys named the provider (decision 0220).
            f"{manifest.registration}.{manifest.period}.v{version}",
        )
    }
    if manifest.supersedes in earlier:
        return []
    return [
        f"supersedes must name an earlier version of {manifest.provider_id}'s "
        f"{manifest.registration} {manifest.period} (v1 to v{manifest.version - 1})"
    ]


def unheld_supersedes_problems(manifest: Manifest, held: frozenset[str]) -> list[str]:
    """``supersedes`` must name a version this holder holds receipted (decision 0720).

    ``held``: the idempotency keys of the provider's receipted versions of
    the manifest's registration and period. Why: a version that replaces,
    or a retraction that withdraws, what the holder never received replaces
    nothing; receipting it would tell the hospital its books and the
    holder's agree when they do not.
    """
    if manifest.supersedes is None or manifest.supersedes in held:
        return []
    if not held and manifest.kind != "retraction":
        # Nothing of this period here at all: the earlier version went by another
        # channel (an --outbox hand-off to the portal, decision 0436), which this
        # holder cannot see. A version naming one it does not hold while it holds
        # others stays refused: the books disagree.
        return []
    return [
        f"supersedes names {manifest.supersedes}, a version this registry holder has never "
        f"held (never receipted) for {manifest.provider_id}'s {manifest.registration} "
        f"{manifest.period}: it holds {', '.join(sorted(held)) or 'no version'}"
    ]


def check_delivery(
    folder: Path,
    manifest: Manifest,
    terms: RegistrationTerms | None = None,
    held: Mapping[str, HeldVersion] | None = None,
) -> list[str]:
    """Every problem that makes the delivery unacceptable (empty list: receipt it).

    FHIR deliveries must also be closed: every reference resolves inside the delivery.
    ``terms``: the registration's approved pseudonym types and dictionary, when known.
    Every problem found is named in one answer, bounded (decision 0985): a file
    that could not be counted leaves unchecked only what it could hold. A
    problem of the manifest, or a file that did not arrive as the manifest
    describes it, does not stop the others being read (decision 1003).
    ``held``: the provider's receipted versions of the period by key, read
    under the store's lock; a ``supersedes`` naming none of them, or a version
    out of order with them, is named with the other problems (decisions 1034,
    1036). None: not checked here.
    """
    refusal = Refusal()
    refusal.whole(manifest_problems(manifest))
    if terms is not None:
        refusal.whole(terms.manifest_problems(manifest))
    if held is not None:
        refusal.whole(unheld_supersedes_problems(manifest, frozenset(held)))
        refusal.whole(version_problems(manifest, held))
    if not _lists_the_files(manifest):
        return refusal.problems()
    resources = _Resources(manifest, terms)
    unread = Unread()
    for item in manifest.files:
        path = folder / item.name
        arrival = arrival_problem(folder, item)
        if not is_read(item.name):
            # Refused by its name, never left out of what is checked (decision 1002).
            refusal.whole([f"{item.name}: {NOT_READ}", *([arrival] if arrival else [])])
            unread.add(item.name, None)  # could hold anything: no count or reference made up
            continue
        refusal.whole(_name_problems(path, manifest, terms))  # its lines still read
        if arrival is not None:
            # Never read as if it were the file sent: its bytes are not those (decision 1003).
            refusal.whole([f"{arrival}; {NOT_COUNTED}"])
            unread.add(item.name, promised_type(path))
            continue
        if item.name.endswith(".csv"):
            count, file_problems = _csv_problems(path, manifest, terms)
            resources.tally.add_csv(item.name, count or 0)
        else:
            count, file_problems = _fhir_problems(path, resources)
        refusal.rows(per_file(item.name, file_problems))
        if count is None:
            unread.add(item.name, promised_type(path))  # not counted: no mismatch made up (0970)
        elif count != item.records:
            refusal.whole([f"{item.name}: {count} records, manifest says {item.records}"])
    refusal.whole(resources.closure.problems(unread))  # what was not read is unknown
    refusal.whole(resources.tally.problems(unread))
    refusal.whole(_reports_problems(folder, manifest))
    return refusal.problems()


def _name_problems(path: Path, manifest: Manifest, terms: RegistrationTerms | None) -> list[str]:
    """Why a data file the holder reads is misnamed; it is read all the same.

    Its name is no name the product gives its kind (decisions 1000, 1001), its
    kind is not the manifest's format's (1005), and, without the
    registration's terms, a CSV is named by no dataset the manifest counts
    (1006; with the terms the dictionary says which names are datasets,
    decision 0435, and one the manifest does not count is refused, 1030).
    """
    problems = [
        problem
        for problem in (name_problem(path), format_problem(path.name, manifest.format))
        if problem is not None
    ]
    if path.suffix != ".csv":
        return problems
    if terms is None:
        csv_name = csv_layout.name_problem(path.name, manifest)
    elif path.stem in terms.datasets:
        # A dictionary dataset the manifest does not count: even without rows it is
        # a file of no delivered dataset (decision 1030; another name the header says).
        csv_name = csv_layout.uncounted_problem(path.name, manifest)
    else:
        csv_name = None
    return problems if csv_name is None else [*problems, csv_name]


def _reports_problems(folder: Path, manifest: Manifest) -> list[str]:
    """The problems of the reports travelling with the delivery; one that did not arrive as
    described is not read (decision 1003)."""
    problems: list[str] = []
    for report in manifest.reports:
        if arrival := arrival_problem(folder, report):
            problems.append(arrival)
        else:
            problems += _report_problems(folder / report.name, report.media_type, manifest)
    return problems


def _lists_the_files(manifest: Manifest) -> bool:
    """Whether the manifest's files are one list of distinct data files to read (decision 1003).

    A name listed twice has two descriptions of one file, so which is the
    file's is not known; a retraction's files are no delivery to read. Then
    no file is read: the manifest's problem is the refusal. Any other
    manifest problem (its period, what it supersedes, its dictionary) leaves
    the files as described, and they are read.
    """
    names = [item.name for item in manifest.transferred()]
    return len(set(names)) == len(names) and not (manifest.kind == "retraction" and manifest.files)


def _inner(report: dict[str, Any], section: str, key: str) -> object:
    value = report.get(section)
    return value.get(key) if isinstance(value, dict) else None


#: What a validation report travelling with a delivery may be, by file name suffix.
REPORT_MEDIA_TYPES = {".json": "application/json", ".html": "text/html"}


def _report_problems(path: Path, media_type: str, manifest: Manifest) -> list[str]:
    """A report must be the validation report of this very delivery (counts only)."""
    expected = REPORT_MEDIA_TYPES.get(path.suffix)
    if expected is None or not media_type.startswith(expected):
        return [f"{path.name}: a report must be JSON or HTML, got {media_type!r}"]
    if expected == "application/json":
        return _json_report_problems(path, manifest)
    try:
        html = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [f"{path.name}: not UTF-8 text"]
    return [_BSN_IN_REPORT.format(name=path.name)] if contains_probable_bsn(html) else []


#: A report holds counts only; one with a BSN-like text is refused (decision 0438).
_BSN_IN_REPORT = (
    "{name}: the report holds a value that looks like a BSN (nine digits passing the "
    "eleven-test): a report holds counts only"
)


def _texts(value: object) -> Iterator[str]:
    """Every text in a parsed JSON value, keys included (numbers are counts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _json_report_problems(path: Path, manifest: Manifest) -> list[str]:
    try:
        report = parse(path.read_bytes())
    except JsonInputError as error:
        return [f"{path.name}: not valid JSON ({error})"]
    if not isinstance(report, dict) or report.get("report") != "aanlevering validation report":
        return [f"{path.name}: not a validation report"]
    if any(contains_probable_bsn(text) for text in _texts(report)):
        return [_BSN_IN_REPORT.format(name=path.name)]
    named = _inner(report, "registration", "id"), _inner(report, "period", "label")
    if named != (manifest.registration, manifest.period):
        return [
            f"{path.name}: the report is for {named[0]!r} {named[1]!r}, "
            f"the delivery for {manifest.registration!r} {manifest.period!r}"
        ]
    provider = _inner(report, "provider", "id")
    if provider != manifest.provider_id:
        return [f"{path.name}: the report names provider {provider!r}, not the deliverer"]
    return []


def summarise(problems: list[str]) -> str:
    """One readable string for an HTTP error body or a rejection file."""
    buffer = io.StringIO()
    for problem in problems:
        buffer.write(f"- {problem}\n")
    return buffer.getvalue()
