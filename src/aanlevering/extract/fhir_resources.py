"""The source resources a FHIR extract keeps for delivery, cut to what the mappings read.

Registry holders that take FHIR want the clinical resources themselves (decision
0231). The extract already holds every resource the mappings read; this module
decides which of them belong to a record (the focus resource and each related
resource a value was read from) and cuts each one to an allowlist per resource
type: a few structural top-level elements (``status``, ``code``, ``category`` and
the patient/encounter links) whole, the elements the dictionary's paths read per
element path (decision 0236: the element holding the read value whole, its
ancestors with only the children a path reads), and only the extensions whose
url a path names. What is not on the list (narrative,
notes, performers, identifiers, unread dates and extensions) is never kept, so
it cannot be delivered by mistake. References are rewritten to their canonical
``Type/id`` in the input (``urn:uuid:`` and absolute URLs resolved), so the
output can re-point them without the input's Bundle ``fullUrl`` values.

The kept resources travel as one Arrow table (``row_ref``, ``key``, ``text``):
``row_ref`` is the record the resource belongs to, so the later stages (period,
opt-outs, records without pseudonyms) restrict it by the records they keep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_columns import encode, remember
from aanlevering.extract.fhir_texts import SCHEMA
from aanlevering.extract.fhirpath import ROOT_LINKS, FhirPath
from aanlevering.extract.model import Extract

#: Elements kept whenever present: what a resource is and whom it is about.
STRUCTURAL = frozenset(
    {"resourceType", "id", "status", "code", "category", "subject", "patient", "encounter"}
)
#: People are never delivered as source resources (the Patient is rebuilt from pseudonyms).
PERSON_TYPES = frozenset(
    {"Patient", "RelatedPerson", "Person", "Practitioner", "PractitionerRole", "Group"}
)


#: What :func:`cut` does with a top-level element: drop it, keep it whole (structural), or
#: keep what the paths read (``_element``: extensions by url, the tree's children).
_DROP, _WHOLE, _WALK = 0, 1, 2

#: Per element name: None keeps the element whole, a tree keeps only those children.
Tree = dict[str, "Tree | None"]


def _insert(tree: Tree, names: list[str], whole_at: int) -> None:
    """Keep the elements along ``names``, the one at ``whole_at`` and below whole."""
    node: Tree | None = tree
    for depth, name in enumerate(names):
        if node is None:
            return  # an element above is kept whole already
        if depth >= whole_at:
            node[name] = None
            return
        child = node.get(name, {}) if name in node else {}
        if child is None:
            return
        node[name] = child
        node = child


#: A cut's plan for one shape (type, keys in order): the top-level keys that go into the
#: text as they are, and the rest with what :func:`cut` does with them.
_SplitPlan = tuple[tuple[str, ...], tuple[tuple[str, int, "Tree | None"], ...]]
_EXTENSION_KEYS = frozenset({"extension", "modifierExtension"})


@dataclass
class ReadElements:
    """Per resource type the elements the mappings read (as element trees), and extension urls.

    Top-level structural elements are kept whole; an element a path reads is kept
    only along the path: the element holding the value that is read (``valueQuantity``
    of ``valueQuantity.value``, the ``coding`` of ``code.coding.where(...).code``)
    whole, its ancestors with only the children some path reads. A filter keeps the
    element it tests whole; a ``where(x=...)`` step keeps ``x``.
    """

    names: dict[str, set[str]] = field(default_factory=dict)
    extensions: set[str] = field(default_factory=set)
    trees: dict[str, Tree] = field(default_factory=dict)
    _verdicts: dict[tuple[str, str], tuple[int, Tree | None]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _plans: dict[tuple[str, tuple[str, ...]], _SplitPlan] = field(
        default_factory=dict, repr=False, compare=False
    )

    def add_path(self, resource_type: str, path: FhirPath, *, filter_element: bool = False) -> None:
        """Record what ``path`` reads when it is evaluated on a ``resource_type``.

        ``filter_element``: the path names a coded element a filter tests (kept whole).
        """
        self._verdicts.clear()
        self._plans.clear()
        names = self.names.setdefault(resource_type, set())
        tree = self.trees.setdefault(resource_type, {})
        if path.root_type is not None and path.root_type != resource_type:
            for link in ROOT_LINKS.get(path.root_type, ()):
                names.add(link)
                tree[link] = None
            return
        walked: list[str] = []
        for step in path.steps:
            if step.kind == "resolve":
                if walked:  # the reference itself is read; the rest is another resource
                    names.add(walked[0])
                    _insert(tree, walked, len(walked) - 1)
                return
            if step.kind == "extension":
                self.extensions.add(step.value)
                walked.append("extension")
                _insert(tree, [*walked, "url"], len(walked))
            elif step.kind == "name":
                walked.append(step.name)
            elif step.kind == "where":
                _insert(tree, [*walked, step.name], len(walked))
        if not walked:
            return
        names.add(walked[0])
        leaf = len(walked) - 1
        _insert(tree, walked, leaf if filter_element or leaf == 0 else leaf - 1)

    def add_name(self, resource_type: str, name: str) -> None:
        """Record a top-level element read outside the paths (a link element), kept whole."""
        self._verdicts.clear()
        self._plans.clear()
        self.names.setdefault(resource_type, set()).add(name)
        self.trees.setdefault(resource_type, {})[name] = None

    def allowed(self, resource_type: str) -> frozenset[str]:
        """The top-level elements kept whole: structural, required by R4B."""
        return STRUCTURAL | required(resource_type)

    def tree(self, resource_type: str) -> Tree:
        """The read elements of ``resource_type`` below the top level."""
        return self.trees.get(resource_type, {})

    def verdict(self, resource_type: str, key: str) -> tuple[int, Tree | None]:
        """What :func:`cut` does with a top-level ``key``: drop, keep whole, or walk a tree.

        Element names repeat across millions of resources, so each is decided once.
        """
        found = self._verdicts.get((resource_type, key))
        if found is None:
            if _kept(key, self.allowed(resource_type)):
                found = (_WHOLE, None)
            else:
                matched, subtree = _match(key, self.tree(resource_type))
                found = (_WALK, subtree) if matched else (_DROP, None)
            self._verdicts[(resource_type, key)] = found
        return found


@cache
def required(resource_type: str) -> frozenset[str]:
    """Elements R4B requires of ``resource_type`` (``Encounter.class``): kept so it stays valid."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, LookupError):
        return frozenset()
    return frozenset(
        field_info.alias or name
        for name, field_info in model.model_fields.items()
        if field_info.is_required() or (field_info.json_schema_extra or {}).get("element_required")  # type: ignore[union-attr]
    )


def _kept(key: str, allowed: frozenset[str]) -> bool:
    if key in allowed:
        return True
    # A choice element (valueQuantity for ``value``, onsetDateTime for ``onset``).
    return any(key[end].isupper() and key[:end] in allowed for end in range(1, len(key)))


def _match(key: str, tree: Tree) -> tuple[bool, Tree | None]:
    """Whether ``key`` is in ``tree`` (a choice element such as valueQuantity for ``value``)."""
    if key in tree:
        return True, tree[key]
    for end in range(1, len(key)):
        if key[end].isupper() and key[:end] in tree:
            return True, tree[key[:end]]
    return False, None


def cut(
    resource: Mapping[str, Any],
    read: ReadElements,
    canonical: Callable[[str], str | None],
) -> dict[str, Any]:
    """``resource`` with only its allowlisted elements, read extensions and canonical references."""
    resource_type = str(resource.get("resourceType", ""))
    out: dict[str, Any] = {}
    for key, value in resource.items():
        mode, subtree = read.verdict(resource_type, key)
        if mode == _WHOLE:
            out[key] = _inner(value, read.extensions, canonical)
        elif mode == _WALK:
            kept = _element(key, value, subtree, read.extensions, canonical)
            if kept not in (None, {}, []):
                out[key] = kept
    return out


def _as_written(reference: str) -> str | None:
    return None


_EXTENSION_LISTS = ('"extension":[', '"modifierExtension":[')


def cut_as_written(resource: dict[str, Any], read: ReadElements) -> str:
    """``encode(cut(resource, read, ...))`` with references as written, without copying the tree.

    :func:`cut` rebuilds every kept element only to filter extension lists by url
    (references as written are left as they are). Here the kept top-level elements
    go into the text as they are and only top-level extension lists and read
    subtrees are cut; when the text shows an extension list below the top level,
    the resource is cut the general way instead, so the text is always
    :func:`cut`'s. Which top-level elements are kept is decided once per resource
    type and keys in order, and split into those kept whole (taken in one dict
    display) and the rest (decision 0335).
    """
    resource_type = str(resource.get("resourceType", ""))
    keys = tuple(resource)
    shape = (resource_type, keys)
    plan = read._plans.get(shape)
    if plan is None:
        plan = _split_plan(read, resource_type, keys)
        remember(read._plans, shape, keys, plan)
    whole, rest = plan
    out = {key: resource[key] for key in whole}
    lists = 0  # extension lists kept at the top level
    if rest:
        extensions = read.extensions
        for key, mode, subtree in rest:
            value = resource[key]
            if subtree is not None:
                kept = _element(key, value, subtree, extensions, _as_written)
                if kept not in (None, {}, []):
                    out[key] = kept
            elif mode == _WHOLE:  # an extension list kept whole
                out[key] = value
            else:
                if key in _EXTENSION_KEYS and isinstance(value, list):
                    value = [e for e in value if isinstance(e, dict) and _url(e) in extensions]
                if value not in (None, {}, []):
                    out[key] = value
            if key in _EXTENSION_KEYS and type(out.get(key)) is list:
                lists += 1
    text = encode(out)
    if text.count(_EXTENSION_LISTS[0]) + text.count(_EXTENSION_LISTS[1]) != lists:
        return encode(cut(resource, read, _as_written))
    return text


def _split_plan(read: ReadElements, resource_type: str, keys: tuple[str, ...]) -> _SplitPlan:
    """The keys of one shape kept whole (not extension lists), and the rest that are kept."""
    whole: list[str] = []
    rest: list[tuple[str, int, Tree | None]] = []
    for key in keys:
        mode, subtree = read.verdict(resource_type, key)
        if mode == _DROP:
            continue
        if mode == _WHOLE and key not in _EXTENSION_KEYS:
            whole.append(key)
        else:
            rest.append((key, mode, subtree))
    return tuple(whole), tuple(rest)


def _element(
    key: str,
    value: Any,
    subtree: Tree | None,
    extensions: set[str],
    canonical: Callable[[str], str | None],
) -> Any:
    """One read element: whole (``subtree`` None) or only the children the tree names."""
    if key in {"extension", "modifierExtension"} and isinstance(value, list):
        value = [e for e in value if isinstance(e, dict) and _url(e) in extensions]
    if subtree is None:
        return _inner(value, extensions, canonical)
    return _walk(value, subtree, extensions, canonical)


def _walk(
    value: Any, tree: Tree, extensions: set[str], canonical: Callable[[str], str | None]
) -> Any:
    """Only the children of ``value`` that ``tree`` names (lists item by item)."""
    if isinstance(value, list):
        items = [_walk(item, tree, extensions, canonical) for item in value]
        return [item for item in items if item not in (None, {}, [])]
    if not isinstance(value, dict):
        return None  # the read path expects an object here; nothing is kept
    out: dict[str, Any] = {}
    for key, item in value.items():
        found, subtree = _match(key, tree)
        if found:
            kept = _element(key, item, subtree, extensions, canonical)
            if kept not in (None, {}, []):
                out[key] = kept
    return out


def _inner(value: Any, extensions: set[str], canonical: Callable[[str], str | None]) -> Any:
    if type(value) is list:
        return [_inner(item, extensions, canonical) for item in value]
    if type(value) is not dict:
        return value  # decoded JSON: objects are plain dicts
    out: dict[str, Any] = {}
    for key, item in value.items():
        kept = item
        if key in {"extension", "modifierExtension"} and isinstance(item, list):
            kept = [e for e in item if type(e) is dict and _url(e) in extensions]
            if not kept:
                continue
        if key == "reference" and isinstance(item, str):
            kept = canonical(item) or item
        out[key] = _inner(kept, extensions, canonical)
    return out


class KeptResources:
    """Collects (record, resource) pairs while the extract reads the records.

    Pairs are only noted while reading (the resources are in the store anyway);
    :meth:`table` cuts and encodes just those of the records the extract kept,
    so records outside the period cost no work or memory.
    """

    def __init__(self, read: ReadElements, canonical: Callable[[str], str | None]) -> None:
        self.read = read
        self.canonical = canonical
        self._links: list[tuple[str, str, Mapping[str, Any]]] = []
        #: Records whose focus resource has no id: (row_ref, resource type).
        self._without_id: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"KeptResources({len(self._links)} links)"

    def add(self, row_ref: str, key: str, resource: Mapping[str, Any]) -> None:
        """Note ``resource`` (input key ``Type/id``) for the record ``row_ref``."""
        if resource.get("resourceType") in PERSON_TYPES:
            return
        if not isinstance(resource.get("id"), str) or "/" not in key:
            return  # without an id nothing could reference it; it is not delivered
        self._links.append((row_ref, key, resource))

    def add_focus(self, row_ref: str, key: str, resource: Mapping[str, Any]) -> None:
        """Note the record's own resource; one without an id cannot be delivered (0541)."""
        if not isinstance(resource.get("id"), str) or not resource.get("id"):
            self._without_id.append((row_ref, str(resource.get("resourceType"))))
        self.add(row_ref, key, resource)

    def table(self, records: Iterable[str]) -> pa.Table:
        """The pairs of ``records`` (row refs), in reading order, each resource cut once.

        Raises :class:`ExtractError` when a record's own resource has no id (0541).
        """
        wanted = set(records)
        missing = [(ref, kind) for ref, kind in self._without_id if ref in wanted]
        if missing:
            refuse_without_id(missing[0][1], [ref for ref, _ in missing])
        rows: list[str] = []
        keys: list[str] = []
        texts: list[str] = []
        done: dict[str, str] = {}  # a resource shared by records is cut once
        for row_ref, key, resource in self._links:
            if row_ref not in wanted:
                continue
            text = done.get(key)
            if text is None:
                text = done[key] = encode(cut(resource, self.read, self.canonical))
            rows.append(row_ref)
            keys.append(key)
            texts.append(text)
        return pa.table(
            [
                pa.array(rows, pa.string()),
                pa.array(keys, pa.string()),
                pa.array(texts, pa.string()),
            ],
            schema=SCHEMA,
        )


def refuse_without_id(resource_type: str, locations: Sequence[str]) -> NoReturn:
    """Stop the run: records whose own resource has no id would be counted but not delivered.

    A delivery of FHIR resources carries each record as its own (minimised)
    resource, and a resource without an id can be neither delivered nor
    referenced; delivering the rest would say "delivered" for records the
    registry holder never gets (decision 0541). Names locations, never values.
    """
    raise ExtractError(
        f"{locations[0]}: {len(locations)} {resource_type} resource(s) of the period have no "
        f"id (the first is here): a delivery of FHIR resources carries each record's own "
        f"resource, which needs its id; give every {resource_type} an id in the export "
        "(decision 0541), or in a Bundle an entry fullUrl urn:uuid:<uuid>, read as its id "
        "(decision 0560)"
    )


def _url(extension: Mapping[str, Any]) -> str | None:
    """An extension's url; hostile input may put anything there."""
    url = extension.get("url")
    return url if isinstance(url, str) else None


def restricted(extract: Extract) -> Extract:
    """``extract`` with only the source resources of the records it still holds.

    Called wherever records leave (opt-outs, records without pseudonyms), so
    the resources of an opted-out patient are not delivered. Only the rows are
    filtered; the texts file stays as it is (decision 0310).
    """
    kept = extract.source_resources
    if kept is None or kept.num_rows == 0:
        return extract
    arrays = [d.row_refs for d in extract.datasets.values() if len(d.row_refs)]
    records = pa.chunked_array(arrays, pa.string()) if arrays else pa.array([], pa.string())
    keep = pc.is_in(kept.row_refs, value_set=pc.unique(records))
    if pc.all(keep).as_py():
        return extract  # nothing left: no copy
    return replace(extract, source_resources=kept.filter(keep))
