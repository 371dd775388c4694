"""Every mapping mistake that can be found without data, found before a run.

``registrations check`` runs these checks on top of the catalogue's schema and
cross-reference checks. They compile each FHIR path with the extract's own
FHIRPath subset and walk it through the FHIR element model of the resource it
starts from, so an unknown element, a whole Quantity where a number is needed
or a ``link`` the related resource does not have is reported with the fix,
instead of surfacing as failed type expectations for every row at validate time.
Unresolved ``# TODO`` markers of a scaffolded registration fail the check too.

Each problem is ``(JSON path, message)``; messages start with the dataset and
variable and end with what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aanlevering.catalogue.model import (
    CodeFilter,
    CsvDatasetSource,
    Dataset,
    FhirVariableSource,
    RegistrationConfig,
    Variable,
)
from aanlevering.extract.fhirpath import (
    ROOT_LINKS,
    FhirPath,
    PathSyntaxError,
    Step,
    compile_path,
)
from aanlevering.onboard.fhir_model import (
    ElementType,
    choices,
    close_names,
    element,
    elements,
    is_resource_type,
    resource_types,
)

Problem = tuple[str, str]

#: Elements through which a related resource may reference the focus (the schema's enum).
LINKS: tuple[str, ...] = ("subject", "encounter", "focus", "reasonReference", "partOf")
#: FHIR primitive types a dictionary type accepts (code and string take any primitive).
_ACCEPTS: dict[str, frozenset[str]] = {
    "date": frozenset({"date", "dateTime", "instant"}),
    "datetime": frozenset({"dateTime", "instant"}),
    "integer": frozenset({"integer", "positiveInt", "unsignedInt", "decimal", "integer64"}),
    "decimal": frozenset({"decimal", "integer", "positiveInt", "unsignedInt", "integer64"}),
    "boolean": frozenset({"boolean"}),
}
_QUANTITIES = frozenset({"Quantity", "Age", "Count", "Distance", "Duration", "Money"})
_CODED = frozenset({"CodeableConcept", "Coding"})
_ANY = "*"
_TODO = re.compile(r"#\s*TODO\b(.*)$")


class _PathProblem(Exception):
    """A path does not fit the element model; the message says how to fix it."""


@dataclass(frozen=True)
class _State:
    """Where a path is after some steps: one possible type of the selected items."""

    type: str
    primitive: bool = False
    targets: tuple[str, ...] = ()
    element: str = ""

    @classmethod
    def of(cls, found: ElementType) -> _State:
        return cls(found.type, found.primitive, found.targets, found.name)


def _resource_problem(resource: str) -> str | None:
    if is_resource_type(resource):
        return None
    guess = close_names(resource, resource_types())
    hint = (
        f"; did you mean {' or '.join(guess)}?" if guess else " (see hl7.org/fhir/R4/resourcelist)"
    )
    return f"{resource!r} is not a FHIR R4 resource type{hint}"


#: How to reach a single value inside a complex type ({p} is the path so far).
_COMPLEX_HINTS: dict[str, str] = {
    "CodeableConcept": (
        "map one code: '{p}.coding.code', or of one code system: "
        "\"{p}.coding.where(system='…').code\""
    ),
    "Coding": "map its code: '{p}.code'",
    "Reference": "follow it and pick an element: '{p}.resolve().id' (or another element)",
    "Period": "map '{p}.start' or '{p}.end'",
    "Extension": "map its value: '{p}.valueCode' (or valueString, valueDate, ...)",
    "Identifier": "map '{p}.value'",
}


def _complex_hint(state: _State, text: str) -> str:
    if state.type in _QUANTITIES:
        return f"{state.type} has a number and a unit; map the number: '{text}.value'"
    if state.type in _COMPLEX_HINTS:
        return _COMPLEX_HINTS[state.type].format(p=text)
    primitive = sorted(name for name, e in elements(state.type).items() if e.primitive)
    return f"pick one of its elements: {', '.join(primitive[:8])}"


def _name_step(states: list[_State], name: str, text: str) -> list[_State]:
    found: list[_State] = []
    for state in states:
        if state.type == _ANY:
            found.append(state)
        elif not state.primitive:
            found.extend(_State.of(option) for option in element(state.type, name))
    if found:
        return found
    state = states[0]
    if state.primitive:
        raise _PathProblem(
            f"{state.element or state.type} is a {state.type}, a single value without "
            f"elements, so '.{name}' selects nothing; end the path before '.{name}'"
        )
    if state.type == "Reference" and name not in {"reference", "display", "type", "identifier"}:
        raise _PathProblem(
            f"'{name}' is not an element of a Reference; follow the reference first: "
            f"'….resolve().{name}'"
        )
    known = list(elements(state.type)) + list(choices(state.type))
    guess = close_names(name, known)
    hint = f"did you mean {' or '.join(repr(g) for g in guess)}?" if guess else ""
    listing = ", ".join(sorted(k for k in known if k not in {"id", "extension"})[:12])
    raise _PathProblem(
        f"{state.type} has no element '{name}'; "
        + (hint or f"its elements include {listing}")
        + f" (in {text!r})"
    )


def _apply(step: Step, states: list[_State], text: str) -> list[_State]:
    if step.kind == "name":
        return _name_step(states, step.name, text)
    if step.kind == "where":
        if not any(s.type == _ANY or element(s.type, step.name) for s in states):
            raise _PathProblem(
                f"where({step.name}='…') filters on '{step.name}', which "
                f"{states[0].type} does not have (in {text!r})"
            )
        return states
    if step.kind == "extension":
        if all(s.primitive for s in states):
            raise _PathProblem(
                f"extensions on primitive elements (_family) are not supported (in {text!r})"
            )
        return [_State("Extension", element="extension")]
    if step.kind == "resolve":
        references = [s for s in states if s.type in {"Reference", _ANY}]
        if not references:
            raise _PathProblem(
                f"resolve() follows a Reference, but {states[0].element or states[0].type} "
                f"is a {states[0].type} (in {text!r})"
            )
        targets = {t for s in references for t in s.targets}
        if not targets or "Resource" in targets or any(s.type == _ANY for s in references):
            return [_State(_ANY)]
        return [_State(t) for t in sorted(targets)]
    return states


def _walk(path: FhirPath, start: str) -> list[_State]:
    states = [_State(start)]
    if path.root_type is not None and path.root_type != start:
        links = ROOT_LINKS.get(path.root_type)
        if links is None:
            raise _PathProblem(
                f"a path may start with {start}, Patient or Encounter, not {path.root_type}; "
                "reach other resources with 'resource' and 'link'"
            )
        if start != _ANY and not any(element(start, link) for link in links):
            raise _PathProblem(
                f"{start} has no {' or '.join(links)} element, so '{path.root_type}.' "
                "finds nothing from it"
            )
        states = [_State(path.root_type)]
    for step in path.steps:
        states = _apply(step, states, path.text)
    return states


def _value_problem(variable: Variable, states: list[_State], text: str, mapped: bool) -> str | None:
    if any(s.type == _ANY for s in states):
        return None
    primitives = [s for s in states if s.primitive]
    if not primitives:
        state = states[0]
        return f"{text!r} selects a whole {state.type}, not a single value; " + _complex_hint(
            state, text
        )
    accepted = _ACCEPTS.get(variable.type)
    if accepted is None or mapped:
        return None
    if not any(s.type in accepted for s in primitives):
        found = ", ".join(sorted({s.type for s in primitives}))
        return (
            f"{text!r} is a FHIR {found}, but the variable is of type {variable.type}; "
            f"map an element of type {' or '.join(sorted(accepted))}"
        )
    return None


def _filter_problems(code_filter: CodeFilter, resource: str, where: str) -> Iterator[Problem]:
    try:
        path = compile_path(code_filter.element)
        states = _walk(path, resource)
    except (PathSyntaxError, _PathProblem) as error:
        yield f"{where}.where.element", f"{error}"
        return
    if any(s.type == _ANY for s in states) or any(s.type in _CODED for s in states):
        return
    coded = sorted(name for name, e in elements(resource).items() if e.type in _CODED)
    yield (
        f"{where}.where.element",
        f"where.element {code_filter.element!r} is a {states[0].type}; a code filter needs a "
        f"CodeableConcept or Coding element of {resource}: {', '.join(coded) or 'none'}",
    )


def _link_problem(source: FhirVariableSource, focus: str) -> str | None:
    assert source.resource is not None
    link = source.link or "subject"
    usable = [
        name for name in LINKS if any(e.type == "Reference" for e in element(source.resource, name))
    ]
    options = element(source.resource, link)
    if not any(e.type == "Reference" for e in options):
        return (
            f"link {link!r}: {source.resource} has no {link} reference; "
            f"{source.resource} can link through {', '.join(usable) or 'none of ' + str(LINKS)}"
        )
    target = "Encounter" if link == "encounter" else focus
    if link == "encounter" and focus != "Encounter" and not element(focus, "encounter"):
        return f"link 'encounter': the focus {focus} has no encounter to match on"
    allowed = {t for e in options for t in e.targets}
    if allowed and "Resource" not in allowed and target not in allowed:
        others = [n for n in usable if n != link]
        return (
            f"link {link!r}: {source.resource}.{link} references "
            f"{', '.join(sorted(allowed))}, never a {target}"
            + (f"; try link {' or '.join(others)}" if others else "")
        )
    return None


def _map_problems(
    variable: Variable, source: FhirVariableSource, option_codes: tuple[str, ...]
) -> Iterator[str]:
    if not source.map:
        return
    if variable.type == "boolean":
        wrong = sorted(v for v in set(source.map.values()) if v not in {"true", "false"})
        if wrong:
            yield (
                f"map sends codes to {', '.join(map(repr, wrong))}, but a boolean variable "
                "takes only 'true' or 'false'"
            )
    elif option_codes:
        wrong = sorted(v for v in set(source.map.values()) if v not in option_codes)
        if wrong:
            yield (
                f"map sends codes to {', '.join(map(repr, wrong))}, which the option set "
                f"{variable.option_set} does not have; allowed: {', '.join(option_codes)}"
            )


def _variable_problems(
    config: RegistrationConfig, dataset: Dataset, focus: str, name: str, source: FhirVariableSource
) -> Iterator[Problem]:
    where = f"$.source.fhir.datasets.{dataset.name}.variables.{name}"
    label = f"dataset {dataset.name}, variable {name}"
    try:
        variable = dataset.variable(name)
    except KeyError:
        return  # reported by the catalogue's own cross-reference check
    start = focus
    if source.resource is not None:
        problem = _resource_problem(source.resource)
        if problem:
            yield f"{where}.resource", f"{label}: resource {problem}"
            return
        start = source.resource
        if link_problem := _link_problem(source, focus):
            yield f"{where}.link", f"{label}: {link_problem}"
        if source.where is not None:
            for at, message in _filter_problems(source.where, start, where):
                yield at, f"{label}: {message}"
    elif source.where is not None or source.link is not None:
        yield (
            where,
            f"{label}: 'link' and 'where' select a related resource and need 'resource' "
            "(for example resource: Observation)",
        )
    option_set = config.dictionary.option_sets.get(variable.option_set or "")
    for message in _map_problems(variable, source, option_set.codes if option_set else ()):
        yield f"{where}.map", f"{label}: {message}"
    try:
        compiled = compile_path(source.element)
    except PathSyntaxError as error:
        yield f"{where}.element", f"{label}: {_syntax_fix(str(error), source.element)}"
        return
    try:
        states = _walk(compiled, start)
    except _PathProblem as error:
        yield f"{where}.element", f"{label}: {error}"
        return
    if problem := _value_problem(variable, states, source.element, bool(source.map)):
        yield f"{where}.element", f"{label}: {problem}"


def _syntax_fix(message: str, text: str) -> str:
    if re.search(r"\[\d+\]", text):
        fixed = re.sub(r"\[0\]", "", text)
        return (
            f"indexers like [0] are outside the supported FHIRPath subset ({text!r}); the first "
            f"value is taken anyway, so write {fixed!r}, or pick one with "
            "where(system='…') or first()"
        )
    return (
        f"{message}; supported: element names, where(name='text'), extension('url'), "
        "resolve(), first()"
    )


def _fhir_problems(config: RegistrationConfig) -> Iterator[Problem]:
    if config.fhir_source is None:
        return
    for dataset_name, mapping in config.fhir_source.datasets.items():
        try:
            dataset = config.dictionary.dataset(dataset_name)
        except KeyError:
            continue
        where = f"$.source.fhir.datasets.{dataset_name}"
        problem = _resource_problem(mapping.resource)
        if problem:
            yield f"{where}.resource", f"dataset {dataset_name}: resource {problem}"
            continue
        if mapping.where is not None:
            for path, message in _filter_problems(mapping.where, mapping.resource, where):
                yield path, f"dataset {dataset_name}: {message}"
        for name, source in mapping.variables.items():
            yield from _variable_problems(config, dataset, mapping.resource, name, source)


def _csv_problems(config: RegistrationConfig) -> Iterator[Problem]:
    if config.csv_source is None:
        return
    # A variable mapped from two columns never gets here: the catalogue refuses it (0852).
    for dataset_name, mapping in config.csv_source.datasets.items():
        yield from _record_key_problems(config, dataset_name, mapping)


def _record_key_problems(
    config: RegistrationConfig, dataset_name: str, mapping: CsvDatasetSource
) -> Iterator[Problem]:
    try:
        dataset = config.dictionary.dataset(dataset_name)
    except KeyError:
        return
    keyed = [*dataset.key, *(r.variable for r in dataset.relations)]
    for variable, columns in mapping.record_keys.items():
        where = f"$.source.csv.datasets.{dataset_name}.record_keys.{variable}"
        label = f"dataset {dataset_name}, variable {variable}"
        if variable not in keyed:
            yield (
                where,
                f"{label}: record_keys make record keys; {variable} is not a key or relation "
                f"variable of {dataset_name} (those are: {', '.join(keyed) or 'none'})",
            )
        if variable in mapping.columns.values():
            yield (
                where,
                f"{label}: mapped from a column and from record_keys; keep one of the two",
            )
        if set(columns) <= set(mapping.identity) and variable in dataset.key:
            yield (
                where,
                f"{label}: {', '.join(columns)} identify the person, not the record; add a "
                "column that tells a person's records apart (a date, a code)",
            )


def _todo_problems(config: RegistrationConfig) -> Iterator[Problem]:
    if not config.source_file:
        return
    try:
        lines = Path(config.source_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for number, line in enumerate(lines, start=1):
        if match := _TODO.search(line):
            content = line[: match.start()].split("  # ")[0].strip()
            note = match.group(1).strip(" :")
            yield (
                f"line {number}",
                f"unresolved TODO at {content or 'this line'!r}: {note or 'decide and remove'}"
                " (decide, then delete the '# TODO' comment)",
            )


def mapping_problems(config: RegistrationConfig) -> list[Problem]:
    """Every problem of the registration's source mappings that data is not needed to see.

    Messages start with the registration, then dataset and variable (or the
    line of an unresolved TODO), and end with the fix.
    """
    found = [*_todo_problems(config), *_fhir_problems(config), *_csv_problems(config)]
    return [(path, f"registration {config.id}, {message}") for path, message in found]
