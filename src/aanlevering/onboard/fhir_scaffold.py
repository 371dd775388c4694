"""FHIR paths proposed for a dictionary's variables from the elements a sample export has.

For each dataset the focus resource type is the one whose elements name the
most variables; its code filter is proposed from the code systems it uses.
Candidate paths are collected from the sample's resources: plain elements,
``extension('url').valueX``, ``x.coding.where(system='…').code``, one step
through ``subject``/``encounter`` with ``resolve()``, and Observations that
reference the focus (through ``partOf``, ``focus`` or ``encounter``) by code.
A candidate is named by its last meaningful part (the extension's last URL
segment, the element, the Observation's code) and matched to variables by
that name and by whether its values fit the variable's type and option set.
Every FHIR proposal is marked TODO unless name and content both agree.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aanlevering.catalogue.identity_guard import PATIENT_IDENTITY_ELEMENTS
from aanlevering.catalogue.model import DataDictionary, Dataset, Variable
from aanlevering.extract.fhir_store import (
    SHAPE_ERRORS,
    Located,
    ResourceStore,
    load_store,
    malformed,
)
from aanlevering.extract.fhir_values import convert
from aanlevering.onboard.csv_match import FITS, name_score

#: Resources looked at per type: enough to see every element an export uses.
PER_TYPE = 500
_SKIP = frozenset({"id", "meta", "text", "resourceType", "identifier", "status"})
_LINKS = ("partOf", "focus", "encounter")
_PRIMITIVE = (str, int, float, bool)


@dataclass
class _Candidate:
    """A path and the values it gave on the sample's resources."""

    path: str
    name: str
    values: list[object] = field(default_factory=list)
    related: Mapping[str, Any] | None = None

    def key(self) -> str:
        return json.dumps([self.path, self.related], sort_keys=True)


def _last(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _walk(value: Any, path: str, name: str, out: dict[str, _Candidate], depth: int) -> None:
    if depth > 4 or value is None:
        return
    if isinstance(value, list):
        for item in value:
            _walk(item, path, name, out, depth)
        return
    if isinstance(value, _PRIMITIVE):
        candidate = out.setdefault(path, _Candidate(path, name))
        candidate.values.append(value)
        return
    if not isinstance(value, Mapping):
        return
    _codings(value, path, out)
    for key, child in value.items():
        if key in _SKIP or key.startswith("_") or key in {"coding", "reference", "system"}:
            continue
        if key == "extension" and isinstance(child, list):
            _extensions(child, path, out, depth)
            continue
        _walk(child, f"{path}.{key}".lstrip("."), key, out, depth + 1)


def _codings(value: Mapping[str, Any], path: str, out: dict[str, _Candidate]) -> None:
    """``x.coding.where(system='…').code``, named by the code system's last URL segment."""
    codings = value.get("coding")
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, Mapping) and coding.get("system") and "code" in coding:
            where = f"{path}.coding.where(system='{coding['system']}').code"
            candidate = out.setdefault(where, _Candidate(where, _last(str(coding["system"]))))
            candidate.values.append(coding["code"])


def _extensions(items: list[Any], path: str, out: dict[str, _Candidate], depth: int) -> None:
    """``extension('url').valueX``, named by the URL's last segment."""
    for extension in items:
        if not isinstance(extension, Mapping) or not extension.get("url"):
            continue
        for value_key, inner in extension.items():
            if value_key.startswith("value"):
                sub = f"{path}.extension('{extension['url']}').{value_key}".lstrip(".")
                _walk(inner, sub, _last(str(extension["url"])), out, depth + 1)


@contextmanager
def _reading(located: Located) -> Iterator[None]:
    """A sample resource (or one it references) of the wrong JSON shape, named by location.

    Why: ``"type": "MR"`` where a CodeableConcept belongs made the scaffold raise
    ``AttributeError``, exit 4 "a bug"; the extract names such a resource by
    ``file:line`` and type, never a value (decisions 0210, 0687).
    """
    try:
        yield
    except SHAPE_ERRORS as error:
        raise malformed(located.location, located.resource, error) from None


def _candidates(store: ResourceStore, focus: str) -> list[_Candidate]:
    found: dict[str, _Candidate] = {}
    focus_resources = store.of_type(focus)[:PER_TYPE]
    for located in focus_resources:
        with _reading(located):
            _focus_candidates(store, located.resource, found)
    found.update({c.key(): c for c in _related(store, focus, focus_resources)})
    return list(found.values())


def _focus_candidates(
    store: ResourceStore, resource: Mapping[str, Any], found: dict[str, _Candidate]
) -> None:
    """The candidates of one focus resource, and one ``resolve()`` step from it."""
    _walk(resource, "", "", found, 0)
    for link, element in resource.items():
        reference = element[0] if isinstance(element, list) and element else element
        target = (
            store.resolve(reference["reference"])
            if isinstance(reference, Mapping) and isinstance(reference.get("reference"), str)
            else None
        )
        if target is not None:
            resolved: dict[str, _Candidate] = {}
            _walk(target, "", "", resolved, 1)
            for path, candidate in resolved.items():
                if target.get("resourceType") == "Patient" and (
                    path.split(".")[0] in PATIENT_IDENTITY_ELEMENTS
                ):
                    continue  # identity is never a delivered variable (decision 0180)
                full = f"{link}.resolve().{path}"
                found.setdefault(full, _Candidate(full, candidate.name)).values.extend(
                    candidate.values
                )
    if "id" in resource:
        found.setdefault("id", _Candidate("id", "id")).values.append(resource["id"])


def _related(store: ResourceStore, focus: str, focus_resources: list[Any]) -> Iterator[_Candidate]:
    keys = {located.key for located in focus_resources}
    encounters = set()
    for located in focus_resources:
        reference = located.resource.get("encounter")
        if isinstance(reference, Mapping) and isinstance(reference.get("reference"), str):
            encounters.add(store.key_of(reference["reference"]))
    grouped: dict[tuple[str, str, str, str], _Candidate] = {}
    for located in store.of_type("Observation"):
        with _reading(located):
            _observation_candidates(
                located.resource,
                store,
                focus=focus,
                keys=keys,
                encounters=encounters,
                grouped=grouped,
            )
    yield from grouped.values()


def _observation_candidates(
    observation: Mapping[str, Any],
    store: ResourceStore,
    *,
    focus: str,
    keys: set[str],
    encounters: set[str | None],
    grouped: dict[tuple[str, str, str, str], _Candidate],
) -> None:
    """The candidates one Observation that references a focus resource offers, by code."""
    for link in _LINKS:
        targets = observation.get(link)
        wanted = encounters if link == "encounter" and focus != "Encounter" else keys
        refs = targets if isinstance(targets, list) else [targets]
        if not any(
            isinstance(r, Mapping)
            and isinstance(r.get("reference"), str)
            and store.key_of(r["reference"]) in wanted
            for r in refs
        ):
            continue
        for coding in (observation.get("code") or {}).get("coding") or ():
            value_key = next((k for k in observation if k.startswith("value")), None)
            if value_key is None:
                continue
            element = value_key
            value: Any = observation[value_key]
            if value_key == "valueQuantity":
                element, value = "valueQuantity.value", value.get("value")
            elif value_key == "valueCodeableConcept":
                element = "valueCodeableConcept.coding.code"
                first: Mapping[str, Any] = next(iter(value.get("coding") or ()), {})
                value = first.get("code")
            index = (link, str(coding.get("system")), str(coding.get("code")), element)
            candidate = grouped.setdefault(
                index,
                _Candidate(
                    element,
                    str(coding.get("code")),
                    related={
                        "resource": "Observation",
                        "link": link,
                        "system": coding.get("system"),
                        "code": coding.get("code"),
                    },
                ),
            )
            candidate.values.append(value)
        break


def _fit(variable: Variable, candidate: _Candidate, dictionary: DataDictionary) -> float:
    values = [v for v in candidate.values if v is not None]
    if not values:
        return 0.0
    converted = [convert(v, variable.type) for v in values]
    ok = [c for c, good in converted if good and c is not None]
    if variable.option_set and variable.option_set in dictionary.option_sets:
        codes = set(dictionary.option_sets[variable.option_set].codes)
        return sum(1 for c in ok if str(c) in codes) / len(values)
    if variable.type in {"integer", "decimal"}:
        low = variable.min if variable.min is not None else float("-inf")
        high = variable.max if variable.max is not None else float("inf")
        return sum(1 for c in ok if isinstance(c, int | float) and low <= c <= high) / len(values)
    return len(ok) / len(values)


#: Dutch names dictionaries give what common FHIR elements hold (the element's last name).
_DUTCH: dict[str, tuple[str, ...]] = {
    "performedDateTime": ("datum_operatie", "datum_verrichting"),
    "start": ("datum_opname", "aankomst"),
    "end": ("datum_ontslag",),
    "deceasedDateTime": ("datum_overlijden",),
    "onsetDateTime": ("datum", "incidentiedatum"),
    "recordedDate": ("datum_registratie",),
}


def _names_of(candidate: _Candidate) -> list[str]:
    """The candidate's name as words, and the Dutch names its element usually has."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", candidate.name).lower()
    return [words, *_DUTCH.get(candidate.name, ())]


def _words_of(candidate: _Candidate) -> str:
    return _names_of(candidate)[0]


def _name_score(candidate: _Candidate, variable: Variable) -> float:
    direct = max(name_score(n, variable.name) for n in _names_of(candidate))
    by_option_set = name_score(_words_of(candidate), variable.option_set or "") * 0.95
    return max(direct, by_option_set)


def _focus(store: ResourceStore, dataset: Dataset) -> str:
    types = [t for t in store.by_type if t not in {"Patient", "Observation"}]
    if not types:
        return "Observation"

    def score(resource_type: str) -> float:
        found = _candidates(store, resource_type)
        return sum(max((_name_score(c, v) for c in found), default=0.0) for v in dataset.variables)

    return max(types, key=score)


def _focus_filter(store: ResourceStore, focus: str) -> tuple[str, str, list[str]] | None:
    for element in ("category", "type", "code"):
        systems: Counter[str] = Counter()
        codes: defaultdict[str, set[str]] = defaultdict(set)
        for located in store.of_type(focus)[:PER_TYPE]:
            value = located.resource.get(element)
            with _reading(located):
                for concept in value if isinstance(value, list) else [value]:
                    for coding in (
                        (concept or {}).get("coding") or () if isinstance(concept, Mapping) else ()
                    ):
                        systems[str(coding.get("system"))] += 1
                        codes[str(coding.get("system"))].add(str(coding.get("code")))
        if systems:
            system = systems.most_common(1)[0][0]
            return element, system, sorted(codes[system])
    return None


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _variable_line(variable: Variable, candidate: _Candidate) -> str:
    if candidate.related is None:
        return f"          {variable.name}: {_q(candidate.path)}"
    related = candidate.related
    return (
        f"          {variable.name}: {{resource: Observation, link: {related['link']}, "
        f"where: {{system: {_q(str(related['system']))}, codes: [{_q(str(related['code']))}]}}, "
        f"element: {candidate.path}}}"
    )


#: FHIR administrative gender to the Dutch sex codes the dictionaries use.
_SEX_MAP = {"male": "M", "female": "V", "other": "O", "unknown": "O"}


def _sex_line(
    variable: Variable, dictionary: DataDictionary, candidates: list[_Candidate]
) -> str | None:
    """``geslacht`` from the Patient's gender, mapped, when the option set has M and V."""
    option_set = dictionary.option_sets.get(variable.option_set or "")
    if option_set is None or not {"M", "V"} <= set(option_set.codes):
        return None
    if not any(c.path == "subject.resolve().gender" for c in candidates):
        return None
    codes = set(option_set.codes)
    mapping = ", ".join(f"{k}: {v}" for k, v in _SEX_MAP.items() if v in codes)
    return (
        f'          {variable.name}: {{element: "subject.resolve().gender", map: {{{mapping}}}}}'
        "  # TODO: the patient's gender mapped to the option set's codes"
    )


def _dataset_lines(store: ResourceStore, dictionary: DataDictionary, dataset: Dataset) -> list[str]:
    focus = _focus(store, dataset)
    lines = [f"      {dataset.name}:", f"        resource: {focus}  # TODO: the focus resource"]
    found = _focus_filter(store, focus)
    if found is not None:
        element, system, codes = found
        lines.append(
            f"        where: {{element: {element}, system: {_q(system)}, codes: "
            f"[{', '.join(_q(c) for c in codes)}]}}  # TODO: keep only the codes that belong"
        )
    lines.append("        variables:")
    candidates = _candidates(store, focus)
    taken: set[str] = set()
    for variable in dataset.variables:
        if variable.generalised_from:
            continue
        scored = sorted(
            (
                (_name_score(c, variable), _fit(variable, c, dictionary), c)
                for c in candidates
                if c.key() not in taken
            ),
            key=lambda item: -(item[0] * 2 + item[1]),
        )
        best = next(((n, f, c) for n, f, c in scored if f >= FITS and n >= 0.4), None)
        if variable.name in dataset.key:
            best = next(((n, f, c) for n, f, c in scored if c.path == "id"), best)
        if best is None and (sex := _sex_line(variable, dictionary, candidates)):
            lines.append(sex)
            continue
        if best is None:
            fitting = [c.path for n, f, c in scored if f >= FITS and c.related is None][:4]
            hint = f"elements whose values fit: {', '.join(fitting)}" if fitting else "none fits"
            lines.append(f"          # {variable.name}: ?  # TODO: no name matched; {hint}")
            continue
        names, _, candidate = best
        taken.add(candidate.key())
        line = _variable_line(variable, candidate)
        if variable.name in dataset.key:
            line += "  # record key: delivered as a keyed hash (decision 0181)"
        elif names < 0.9:
            line += "  # TODO: proposed from the element's name and values"
        lines.append(line)
    return lines


def _mrn_system(store: ResourceStore) -> str | None:
    """The identifier system the sample's Patients type ``MR`` most often."""
    systems: Counter[str] = Counter()
    for located in store.of_type("Patient")[:PER_TYPE]:
        with _reading(located):
            for identifier in located.resource.get("identifier") or ():
                if not isinstance(identifier, Mapping) or not identifier.get("system"):
                    continue
                codings = (identifier.get("type") or {}).get("coding") or ()
                if any(isinstance(c, Mapping) and c.get("code") == "MR" for c in codings):
                    systems[str(identifier["system"])] += 1
    return systems.most_common(1)[0][0] if systems else None


def fhir_source_lines(dictionary: DataDictionary, sample: Path) -> tuple[list[str], set[str]]:
    """The ``source.fhir`` block proposed from a FHIR export, and the identity it offers."""
    store = load_store(sample)
    lines = ["  fhir:"]
    if system := _mrn_system(store):
        lines.append(
            f"    mrn_system: {_q(system)}  # TODO: the system of the hospital's own patient "
            "number (the MR-typed identifier of the sample)"
        )
    lines.append("    datasets:")
    for dataset in dictionary.datasets:
        lines.extend(_dataset_lines(store, dictionary, dataset))
    # A FHIR Patient carries every identity field nl-core defines (fhir_identity).
    identity = {"patient_id", "mrn", "own_name", "birth_date", "sex", "initials", "postcode"}
    return lines, identity
