"""FHIR resources of one extract, read from bulk-export NDJSON or Bundles, with references resolved.

Inputs, as FHIR servers and Synthea write them:

* a Bulk Data export folder: ``<Type>.<n>.ndjson`` or ``<Type>.ndjson``, one
  resource per line, optionally with the export's ``manifest.json`` (then its
  ``output`` list says which files belong to the export);
* Bundles (``collection``, ``searchset``, ``transaction``, ``batch``,
  ``document``), one per ``*.json`` file, entries carrying ``resource`` and
  ``fullUrl`` (often ``urn:uuid:…``), or a single resource per ``*.json`` file.

Other JSON files in an export folder (a ``manifest.json`` without the Bulk Data
``output`` list, notes) are left out with one log line naming them; a file that
is not valid JSON still stops the extract, since it may be a truncated Bundle.

References resolve from ``Type/id``, ``urn:uuid:…`` (through the entries'
``fullUrl``, or the resource id as Synthea's NDJSON uses it), absolute URLs
ending in ``/Type/id`` (``/_history/n`` ignored) and conditional references
``Type?identifier=system|value``. Contained resources (``#id``) are not
supported. A resource that appears twice (the same Patient in every bundle)
is kept once, the first time it is seen. A Bundle entry's resource without an
id takes the uuid of its ``urn:uuid:`` fullUrl as its id
(:mod:`aanlevering.extract.fhir_entry_ids`, decision 0560).

Every resource keeps its location (``Procedure.000.ndjson:12`` or
``bundle-3.json:entry[4]``), used as the row reference of records built from it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import msgspec

from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_bundle_outline import mapped_file, outline_bundle
from aanlevering.extract.fhir_entry_ids import identified_by_full_url
from aanlevering.extract.fhir_xml import read_xml, root_type
from aanlevering.json_input import (
    MAX_DEPTH,
    DuplicateKeyError,
    JsonInputError,
    duplicate_free,
    parse,
)
from aanlevering.shown_names import shown_file_name

log = logging.getLogger(__name__)

BUNDLE_TYPES = frozenset({"collection", "searchset", "transaction", "batch", "document"})
MANIFEST = "manifest.json"
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
_HISTORY = re.compile(r"/_history/[^/]*$")
#: A file name in the export folder (the last segment of a manifest url), never a path.
_FILE_NAME = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,200}$")

Resource = Mapping[str, Any]


#: What reading a resource of the wrong JSON shape raises (``"identifier": 5``, ``"coding": "x"``).
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError)


def malformed(location: str, resource: object, error: Exception) -> ExtractError:
    """The input error for a resource whose elements do not have FHIR's JSON shape.

    Names where it is and the resource type only: the exception's own text may quote values.
    """
    resource_type = resource.get("resourceType") if isinstance(resource, Mapping) else None
    what = f"the {resource_type} resource" if isinstance(resource_type, str) else "the resource"
    return ExtractError(
        f"{location}: {what} has an element of the wrong JSON shape for FHIR R4 (e.g. a "
        f"number or text where a list or an object belongs; {type(error).__name__}); "
        "check the export"
    )


@dataclass(frozen=True)
class Located:
    """A resource and where it was read (file and line, or file and bundle entry)."""

    resource: Resource
    location: str
    key: str


@dataclass
class ResourceStore:
    """Every resource of the input, indexed for reference resolution and related lookups."""

    by_key: dict[str, Located] = field(default_factory=dict)
    by_type: dict[str, list[Located]] = field(default_factory=dict)
    by_full_url: dict[str, str] = field(default_factory=dict)
    by_id: dict[str, list[str]] = field(default_factory=dict)
    by_identifier: dict[tuple[str, str, str], str] = field(default_factory=dict)
    duplicates: int = 0
    #: Key -> further copies of it the input held (first copy kept; decision 0692).
    copies: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: Drops elements no mapping reads, once a resource is indexed (decision 0135).
    project: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    _links: dict[tuple[str, str], dict[str, list[Located]]] = field(default_factory=dict)

    def add(self, resource: Resource, location: str, full_url: str | None = None) -> None:
        """Index one resource; a second copy of the same resource is counted and ignored."""
        resource_type = str(resource["resourceType"])
        resource_id = resource.get("id")
        if isinstance(resource_id, str) and resource_id:
            key = f"{resource_type}/{resource_id}"
        else:
            key = full_url or f"{resource_type}@{location}"
        if full_url and full_url not in self.by_full_url:
            self.by_full_url[full_url] = key
        if key in self.by_key:
            self.duplicates += 1
            self.copies[key] = self.copies.get(key, 0) + 1
            return
        if self.project is not None and isinstance(resource, dict):
            resource = self.project(resource)
        located = Located(resource, location, key)
        self.by_key[key] = located
        self.by_type.setdefault(resource_type, []).append(located)
        if isinstance(resource_id, str) and resource_id:
            self.by_id.setdefault(resource_id, []).append(key)
        identifiers = resource.get("identifier")
        for identifier in identifiers if isinstance(identifiers, list) else ():
            if isinstance(identifier, Mapping) and identifier.get("value"):
                index = (resource_type, str(identifier.get("system", "")), str(identifier["value"]))
                self.by_identifier.setdefault(index, key)

    def key_of(self, reference: str) -> str | None:
        """The key (``Type/id``) a reference string points at, if that resource is here."""
        reference = reference.strip()
        if reference in self.by_full_url:
            return self.by_full_url[reference]
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            bare = reference.rsplit(":", 1)[-1]
            keys = self.by_id.get(bare, [])
            return keys[0] if len(keys) == 1 else None
        if "?" in reference:
            return self._conditional(reference)
        parts = _HISTORY.sub("", reference).rstrip("/").split("/")
        if len(parts) >= 2 and _TYPE.match(parts[-2]):
            key = f"{parts[-2]}/{parts[-1]}"
            return key if key in self.by_key else None
        return None

    def _conditional(self, reference: str) -> str | None:
        resource_type, _, query = reference.partition("?")
        resource_type = resource_type.rsplit("/", 1)[-1]
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if name == "identifier" and value:
                system, bar, code = value.partition("|")
                index = (resource_type, system if bar else "", code if bar else system)
                return self.by_identifier.get(index)
        return None

    def resolve(self, reference: str) -> Resource | None:
        """The resource a reference points at, or None when it is not in the input."""
        key = self.key_of(reference)
        return self.by_key[key].resource if key is not None else None

    def of_type(self, resource_type: str) -> list[Located]:
        """Resources of one type, in the order they were read."""
        return self.by_type.get(resource_type, [])

    def referencing(self, resource_type: str, link: str, target_key: str) -> list[Located]:
        """Resources of ``resource_type`` whose ``link`` element references ``target_key``."""
        index = self._links.get((resource_type, link))
        if index is None:
            index = {}
            for located in self.of_type(resource_type):
                value = located.resource.get(link)
                for reference in value if isinstance(value, list) else [value]:
                    if isinstance(reference, Mapping) and isinstance(
                        reference.get("reference"), str
                    ):
                        key = self.key_of(reference["reference"])
                        if key is not None:
                            index.setdefault(key, []).append(located)
            self._links[(resource_type, link)] = index
        return index.get(target_key, [])


def _ndjson_resources(
    path: Path, others: list[int], start: int = 0, end: int | None = None
) -> Iterator[tuple[Resource, str]]:
    """The resources of an NDJSON file; lines of other JSON (a bulk server's log) are counted.

    ``others`` receives the line numbers of JSON values that are no FHIR resource
    (no ``resourceType``) in a file not named by a resource type (``log.ndjson``);
    in ``Observation.ndjson`` such a line, and anywhere a line that is not JSON,
    stops the extract: resources of the export would be lost.

    ``start``/``end``: only the lines from byte ``start`` (a line's first byte) up
    to byte ``end`` (None: the file's end), numbered as in the whole file
    (:class:`Segment`, decision 0317).
    """
    name = path.name
    with path.open("rb") as handle:
        first = 1
        if start:
            first = line_number_at(handle, start)
        at = start
        for number, raw in enumerate(handle, start=first):
            if end is not None:
                if at >= end:
                    break
                at += len(raw)
            fast = _plain_resource(raw)
            if fast is not None:
                yield fast, f"{name}:{number}"
                continue
            if not raw.strip():
                continue
            try:
                resource = parse(raw)
            except JsonInputError as error:
                column = f" at column {error.column}" if error.column is not None else ""
                raise ExtractError(
                    f"{path}: line {number}: {_what_is_wrong(error)} ({error.reason}{column})"
                ) from None
            if not is_fhir_document(resource):
                if _TYPE.match(path.name.split(".", 1)[0]):
                    raise ExtractError(
                        f"{path}: line {number}: not a FHIR resource (no resourceType)"
                    )
                others.append(number)
                continue
            yield resource, f"{path.name}:{number}"


#: Bytes read at a time when counting the lines before a segment.
_COUNT_BLOCK = 16 << 20


def line_number_at(handle: BinaryIO, start: int) -> int:
    """The number of the line that begins at byte ``start``; leaves ``handle`` there."""
    handle.seek(0)
    lines, left = 1, start
    while left:
        block = handle.read(min(left, _COUNT_BLOCK))
        if not block:
            break
        lines += block.count(b"\n")
        left -= len(block)
    handle.seek(start)
    return lines


#: Resource types seen to match :data:`_TYPE` (few; bounded against hostile input).
_PLAIN_TYPES: set[str] = set()
_MAX_PLAIN_TYPES = 1_024
_DECODE = msgspec.json.decode
_ENCODE = msgspec.json.encode


def _plain_resource(raw: bytes) -> dict[str, Any] | None:  # noqa: PLR0911
    """The resource on an NDJSON line when nothing about it is unusual, else None.

    What the general path (``parse`` and :func:`is_fhir_document`) gives a line that
    msgspec decodes to an object with a known resource type and few brackets; every
    other line (blank, not JSON, deep, no resource) takes that path and its messages.
    Saves a copy of the line and a regex per resource (decision 0315).
    """
    try:
        value = _DECODE(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if type(value) is not dict:
        return None
    kind = value.get("resourceType")
    if type(kind) is not str:
        return None
    if kind not in _PLAIN_TYPES:
        if not _TYPE.match(kind) or len(_PLAIN_TYPES) >= _MAX_PLAIN_TYPES:
            return None
        _PLAIN_TYPES.add(kind)
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        return None
    encoded = _ENCODE(value)  # a compact line is its value encoded: no key was dropped
    if not (len(raw) - len(encoded) <= 2 and raw.startswith(encoded)) and not duplicate_free(
        raw, value
    ):
        return None  # a key twice: the general path names it (decision 0801)
    return value


def _short(value: object) -> str:
    """A value of the export's structure (a type name, not patient data) for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_json(path: Path, data: bytes | None = None) -> Any:
    if path.suffix.lower() == ".xml":
        return read_xml(path)
    try:
        return parse(path.read_bytes() if data is None else data)
    except JsonInputError as error:
        where = f"line {error.line}: " if error.line is not None else ""
        column = f" at column {error.column}" if error.column is not None else ""
        raise ExtractError(
            f"{path}: {where}{_what_is_wrong(error)} ({error.reason}{column})"
        ) from None


def _what_is_wrong(error: JsonInputError) -> str:
    """How an input error of the JSON reader is introduced: a repeated key is valid JSON syntax."""
    if isinstance(error, DuplicateKeyError):
        return "not acceptable JSON, readers differ on which copy of a repeated key counts"
    return "not valid JSON"


def is_fhir_document(document: Any) -> bool:
    """Whether parsed JSON is a FHIR resource or Bundle (has a resourceType like ``Patient``)."""
    return isinstance(document, dict) and bool(_TYPE.match(str(document.get("resourceType", ""))))


def _bundle_resources(
    path: Path, skip_others: bool = False
) -> Iterator[tuple[Resource, str, str | None]] | None:
    """Read one ``*.json`` file: a Bundle's entries, or a single resource.

    A file that is JSON but no FHIR resource (a manifest of one's own, notes) is
    refused, or, for a file found in an export folder (``skip_others``), left out:
    returns None so the caller can name it.
    """
    if path.suffix.lower() == ".xml":
        return _bundle_resources_whole(path, skip_others)
    data = mapped_file(path)
    outline = outline_bundle(data)
    if outline is not None:  # a JSON Bundle, read an entry at a time (fhir_bundle_outline)
        return _entries(path, outline.members.get("type"), outline.entries())
    return _bundle_resources_whole(path, skip_others, data[:])


def _bundle_resources_whole(
    path: Path, skip_others: bool, data: bytes | None = None
) -> Iterator[tuple[Resource, str, str | None]] | None:
    """:func:`_bundle_resources` from the whole file decoded at once: the straightforward read,
    for XML, single resources, files that are no FHIR and every error (``data``: the file's
    bytes when already read)."""
    bundle = _read_json(path, data)
    if not is_fhir_document(bundle):
        if skip_others:
            return None
        found = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise ExtractError(f"{path}: not a FHIR resource or Bundle (resourceType {_short(found)})")
    if bundle.get("resourceType") != "Bundle":
        return iter([(bundle, path.name, None)])
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        _check_bundle_type(path, bundle.get("type"))  # named first, as before
        raise ExtractError(f"{path}: Bundle.entry must be a list of entries")
    return _entries(path, bundle.get("type"), entries)


def _check_bundle_type(path: Path, bundle_type: object) -> None:
    if not isinstance(bundle_type, str) or bundle_type not in BUNDLE_TYPES:
        raise ExtractError(
            f"{path}: Bundle type {_short(bundle_type)} is not supported "
            f"(expected one of {', '.join(sorted(BUNDLE_TYPES))})"
        )


def _entries(
    path: Path, bundle_type: object, entries: Iterable[Any]
) -> Iterator[tuple[Resource, str, str | None]]:
    _check_bundle_type(path, bundle_type)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ExtractError(f"{path}: entry[{index}]: a Bundle entry must be an object")
        resource = entry.get("resource")
        if resource is None:
            continue  # e.g. a transaction DELETE
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise ExtractError(f"{path}: entry[{index}]: not a FHIR resource (no resourceType)")
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        full_url = entry.get("fullUrl")
        if full_url is not None and not isinstance(full_url, str):
            raise ExtractError(f"{path}: entry[{index}]: fullUrl must be a string")
        yield resource, f"{path.name}:entry[{index}]", full_url if full_url else None


def _bulk_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's bulk export manifest; None when ``manifest.json`` is absent or another file.

    A ``manifest.json`` without the ``output`` list of the Bulk Data spec is a
    file of the hospital's own (its export tooling's manifest, say), not part of
    the export, and is left out like any other non-FHIR file.
    """
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = parse(manifest_path.read_bytes())
    except JsonInputError as error:
        raise ExtractError(f"{manifest_path}: not a valid bulk export manifest ({error})") from None
    if isinstance(manifest, dict) and isinstance(manifest.get("output"), list):
        return manifest
    return None


def _manifest_files(folder: Path, manifest: dict[str, Any]) -> list[Path]:
    manifest_path = folder / MANIFEST
    outputs = manifest["output"]
    files: list[Path] = []
    seen: dict[str, int] = {}
    for index, output in enumerate(outputs):
        resource_type = output.get("type") if isinstance(output, dict) else None
        url = output.get("url") if isinstance(output, dict) else None
        if not isinstance(resource_type, str) or not _TYPE.match(resource_type):
            raise ExtractError(
                f"{manifest_path}: output[{index}] has no FHIR resource type "
                '(expected "type": "Patient" or the like)'
            )
        url_name = url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) else ""
        seen[resource_type] = seen.get(resource_type, 0) + 1
        candidates = [
            folder / f"{resource_type}.{seen[resource_type]}.ndjson",
            folder / url_name if _FILE_NAME.match(url_name) else None,
            folder / f"{resource_type}.{seen[resource_type]:03d}.ndjson",
            folder / f"{resource_type}.ndjson" if seen[resource_type] == 1 else None,
        ]
        found = next((c for c in candidates if c is not None and c.is_file()), None)
        if found is None:
            names = ", ".join(c.name for c in candidates if c is not None)
            raise ExtractError(
                f"{manifest_path}: output[{index}] ({resource_type}) has no file in {folder} "
                f"(looked for {names})"
            )
        files.append(found)
    return files


def _refuse_unlisted(folder: Path, listed: list[Path]) -> None:
    """ExtractError for files of FHIR resources in ``folder`` that the manifest does not name.

    Why: only the manifest's files are read; a further file of resources (a second
    export copied in, a file added by hand) would be left out with all its records,
    counted nowhere (decision 0693). Files without FHIR (log lines, notes, a
    leftover that is no JSON) are left out as before, with a log line.
    """
    names = {path.name for path in listed}
    unlisted = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name not in names and p.name != MANIFEST
        and p.suffix in (".ndjson", ".json", ".xml")
    )  # fmt: skip
    holding = [p.name for p in unlisted if _holds_resources(p)]
    if holding:
        raise ExtractError(
            f"{folder / MANIFEST} does not name {', '.join(holding[:5])}"
            f"{f' and {len(holding) - 5} more' if len(holding) > 5 else ''}, which hold(s) "
            "FHIR resources: only the manifest's files are read, so their records would be "
            "left out; move them out of the export folder (or remove manifest.json to read "
            "every file in it)"
        )
    if unlisted:
        log.info(
            "%s: %d file(s) not named by the manifest hold no FHIR and are left out: %s",
            folder,
            len(unlisted),
            ", ".join(shown_file_name(p) for p in unlisted[:5]),  # decision 0730
        )


def _holds_resources(path: Path) -> bool:
    """Whether ``path`` holds FHIR: an NDJSON line that is a resource, a JSON or XML document."""
    if path.suffix == ".ndjson":
        with path.open("rb") as handle:
            for line in handle:  # a server's log lines may have resources between them
                try:
                    if line.strip() and is_fhir_document(parse(line)):
                        return True
                except JsonInputError:
                    continue
        return False
    try:
        if path.suffix == ".xml":
            return root_type(path.read_bytes()) is not None
        return is_fhir_document(parse(path.read_bytes()))
    except (JsonInputError, ExtractError):
        return False


def input_files(input_path: Path) -> tuple[list[Path], list[Path]]:
    """NDJSON files and Bundle files of an input (a folder, one .ndjson or one .json)."""
    if input_path.is_file():
        if input_path.suffix == ".ndjson":
            return [input_path], []
        if input_path.suffix in (".json", ".xml"):
            return [], [input_path]
        raise ExtractError(f"{input_path}: not a FHIR input (expected .ndjson, .json or .xml)")
    if not input_path.is_dir():
        raise ExtractError(f"input {input_path} does not exist")
    manifest = _bulk_manifest(input_path)
    if manifest is not None:
        listed = _manifest_files(input_path, manifest)
        _refuse_unlisted(input_path, listed)
        return listed, []
    ndjson = sorted(p for p in input_path.glob("*.ndjson") if p.is_file())
    bundles = sorted(
        p for p in input_path.iterdir() if p.is_file() and p.suffix in (".json", ".xml")
    )
    if not ndjson and not bundles:
        raise ExtractError(
            f"no FHIR input in {input_path}: expected bulk export files (*.ndjson) "
            "or Bundles or resources (*.json, *.xml)"
        )
    return ndjson, bundles


@dataclass(frozen=True)
class Segment:
    """A piece of the input read as one: lines of an NDJSON file, or a whole ``*.json``/``*.xml``.

    NDJSON lines from byte ``start`` (the first byte of a line) up to byte ``end``
    (None: the file's end), located by their line numbers in the whole file; a
    file's segments in order are its lines. Bundles and single resources are never
    cut (``bundle``). The input split over processes is a list of these per part
    (:mod:`aanlevering.extract.fhir_parts`, decision 0317).
    """

    path: Path
    start: int = 0
    end: int | None = None
    bundle: bool = False

    @property
    def ends_file(self) -> bool:
        """Whether this segment reads up to the end of its file."""
        return self.bundle or self.end is None


def whole_files(ndjson: list[Path], bundles: list[Path]) -> list[Segment]:
    """Every input file as one segment, in reading order (NDJSON files, then Bundles)."""
    return [Segment(path) for path in ndjson] + [Segment(path, bundle=True) for path in bundles]


class FileOutcomes:
    """Which files were read and which were left out, as each file ends (the logs and ``files``).

    An NDJSON file read in several segments counts as one file: its resources and
    left-out lines are added up until its last segment, and only then is it
    named (or left out) and logged, as if it had been read in one go.
    """

    def __init__(self, input_path: Path, files: list[str]) -> None:
        self.input_path = input_path
        self.files = files
        self.skipped: list[str] = []
        self._pending: tuple[str, int, list[int]] | None = None

    def ndjson(self, name: str, read: int, others: list[int], ends_file: bool) -> None:
        """A segment of NDJSON file ``name`` was read: ``read`` resources, ``others`` left out."""
        if self._pending is not None and self._pending[0] == name:
            read += self._pending[1]
            others = self._pending[2] + others
        self._pending = None
        if not ends_file:
            self._pending = (name, read, others)
            return
        if read or not others:
            self.files.append(name)
            if others:
                log.info(
                    "left out %d line(s) of %s that are not FHIR resources (no resourceType), "
                    "first at line %d",
                    len(others),
                    self._shown(name),
                    others[0],
                )
        else:
            self.skipped.append(name)

    def _shown(self, name: str) -> str:
        """A file of the input as a message names it (decision 0730)."""
        return shown_file_name(
            self.input_path / name if self.input_path.is_dir() else self.input_path
        )

    def bundle(self, name: str, read: bool) -> None:
        """A ``*.json``/``*.xml`` file was read (``read``) or left out as no FHIR at all."""
        (self.files if read else self.skipped).append(name)

    def finish(self) -> None:
        """Every segment is read: log the files left out; refuse an input without FHIR."""
        if self.skipped:
            log.info(
                "left out %d file(s) of %s that are not FHIR resources or Bundles: %s",
                len(self.skipped),
                self.input_path,
                ", ".join(map(self._shown, self.skipped)),
            )
        if not self.files:
            raise ExtractError(
                f"no FHIR input in {self.input_path}: {', '.join(self.skipped)} hold no FHIR "
                "resources or Bundles, and there are no bulk export files (*.ndjson)"
            )


class Outcomes(Protocol):
    """Where :func:`read_segments` reports each segment read (:class:`FileOutcomes`, or a list)."""

    def ndjson(self, name: str, read: int, others: list[int], ends_file: bool) -> None:
        """A segment of an NDJSON file was read."""

    def bundle(self, name: str, read: bool) -> None:
        """A ``*.json``/``*.xml`` file was read or left out."""


def read_segments(
    segments: Iterable[Segment], outcomes: Outcomes, skip_others: bool
) -> Iterator[tuple[Resource, str, str | None]]:
    """The resources of ``segments`` in order, ``(resource, location, full_url)``.

    ``skip_others``: a ``*.json`` file that is no FHIR is left out (an export
    folder) rather than refused (a file given on its own).
    """
    for segment in segments:
        path = segment.path
        if segment.bundle:
            entries = _bundle_resources(path, skip_others=skip_others)
            if entries is None:
                outcomes.bundle(path.name, False)
                continue
            yield from entries
            outcomes.bundle(path.name, True)
            continue
        others: list[int] = []
        read = 0
        for resource, location in _ndjson_resources(path, others, segment.start, segment.end):
            read += 1
            yield resource, location, None
        outcomes.ndjson(path.name, read, others, segment.ends_file)


@dataclass
class InputResources:
    """Every resource of an input in reading order, with where it was read.

    Iterating yields ``(resource, location, full_url)``; afterwards ``files``
    names the files read and the files left out were logged. Both readers (the
    store and the streaming columns) read through this, so they see the same
    resources and refuse the same input.
    """

    input_path: Path
    files: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[Resource, str, str | None]]:
        ndjson, bundles = input_files(self.input_path)
        outcomes = FileOutcomes(self.input_path, self.files)
        yield from read_segments(
            whole_files(ndjson, bundles), outcomes, skip_others=self.input_path.is_dir()
        )
        outcomes.finish()


def load_store(
    input_path: Path,
    project: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    keep_types: frozenset[str] | None = None,
) -> ResourceStore:
    """Read every resource of the input into one store.

    ``project`` keeps only the elements the mappings read, so memory follows what is
    extracted rather than the raw export (decision 0135). ``keep_types``: only
    resources of these types are stored (the rest are read and dropped), for readers
    that need two types of a whole hospital export, such as the Consent reader.
    """
    store = ResourceStore(project=project)
    resources = InputResources(Path(input_path))
    for resource, location, full_url in resources:
        if keep_types is not None and resource.get("resourceType") not in keep_types:
            continue
        # An id-less Bundle entry's resource takes its fullUrl's uuid (decision 0560).
        identified = identified_by_full_url(resource, full_url) if full_url else None
        try:
            store.add(resource if identified is None else identified, location, full_url)
        except SHAPE_ERRORS as error:
            raise malformed(location, resource, error) from None
    store.files = resources.files
    if store.copies:  # decision 0802: copies must be the same
        from aanlevering.extract.fhir_copies import refuse_differing_copies

        refuse_differing_copies(Path(input_path), store.copies)
    if store.duplicates:
        log.info("%d resource(s) appeared more than once; the first copy is used", store.duplicates)
    log.info(
        "read %d FHIR resource(s) from %d file(s): %s",
        len(store.by_key),
        len(store.files),
        ", ".join(f"{t} {len(v)}" for t, v in sorted(store.by_type.items())),
    )
    return store
