"""Load the catalogue from disk, validating every file against its JSON Schema.

Hospital engineers edit these files by hand, so a load reports *every*
problem at once, each with its file and JSON path, instead of stopping at the
first. Layout of a catalogue folder::

    registrations/<registration-id>.yaml
    dictionaries/<dictionary-id>/<version>.yaml
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from aanlevering import yaml_input
from aanlevering.catalogue.identity_guard import identity_problems
from aanlevering.catalogue.model import (
    CalculatedVariable,
    Catalogue,
    CodeFilter,
    CsvDatasetSource,
    CsvSource,
    DataDictionary,
    Dataset,
    Delivery,
    FhirDatasetSource,
    FhirSource,
    FhirVariableSource,
    Option,
    OptionSet,
    Pseudonymisation,
    RegistrationConfig,
    Relation,
    Validation,
    ValidationPolicy,
    Variable,
)
from aanlevering.catalogue.semantics import check_registration
from aanlevering.errors import ConfigError
from aanlevering.pseudonym_types import PseudonymType
from aanlevering.settings import checkout_root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueProblem:
    """One thing wrong in one file, located by JSON path."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class CatalogueInvalid(ConfigError):
    """The catalogue has problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[CatalogueProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the registration catalogue:\n{lines}")


def schemas_dir() -> Path:
    """Folder of the JSON Schemas (in the checkout, or packaged alongside)."""
    root = checkout_root()
    if root is not None:
        return root / "schemas"
    return Path(__file__).resolve().parent / "schemas"


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads((schemas_dir() / schema_name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _json_path(parts: Iterable[object]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _read_yaml(file: Path, problems: list[CatalogueProblem]) -> dict[str, Any] | None:
    try:
        data = yaml_input.strict_load(yaml_input.read_hand_written(file))
    except (OSError, UnicodeDecodeError) as error:
        problems.append(CatalogueProblem(str(file), "$", f"cannot read: {error}"))
        return None
    except RecursionError:
        problems.append(CatalogueProblem(str(file), "$", "invalid YAML: nested too deeply"))
        return None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.append(CatalogueProblem(str(file), "$", f"invalid YAML: {where}{error}"))
        return None
    if not isinstance(data, dict):
        problems.append(CatalogueProblem(str(file), "$", "expected a mapping at the top level"))
        return None
    # YAML turns unquoted dates into date objects; the schemas speak JSON.
    return cast(dict[str, Any], json.loads(json.dumps(data, default=str)))


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """The errors that say what is wrong: inside a ``oneOf``, those of the branch that fits."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    specific = [e for e in error.context if e.validator != "type"]
    if not specific:
        return [error]
    return [leaf for e in specific for leaf in _leaf_errors(e)]


def _label(parts: list[object]) -> str:
    """``dataset X, variable Y: `` for errors inside a source mapping, else empty."""
    names = []
    kinds = (
        ("datasets", "dataset"),
        ("variables", "variable"),
        ("columns", "column"),
        ("identity", "identity column"),
    )
    for kind, key in kinds:
        if kind in parts and parts.index(kind) + 1 < len(parts):
            names.append(f"{key} {parts[parts.index(kind) + 1]}")
    return ", ".join(names) + ": " if names else ""


def _explain(error: ValidationError) -> str:
    """A message that names the field and, where the schema lists them, the allowed values."""
    parts = list(error.absolute_path)
    field = str(parts[-1]) if parts else "the file"
    if len(parts) > 1 and isinstance(parts[-1], int):
        field = f"{parts[-2]}[{parts[-1]}]"  # ``types[1] 'BSN'``, not ``1 'BSN'``
    label = _label(parts)
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{label}{field} {error.instance!r} is not allowed; use one of: {allowed}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed_keys = list(error.schema.get("properties", {}))
        unexpected = [k for k in error.instance if k not in allowed_keys]
        if allowed_keys and unexpected:
            return (
                f"{label}{', '.join(map(repr, unexpected))} is not a known key of {field}; "
                f"allowed: {', '.join(allowed_keys)}"
            )
    if error.validator in ("oneOf", "anyOf") and error.context:
        kinds = sorted({str(e.validator_value) for e in error.context if e.validator == "type"})
        if kinds:
            return (
                f"{label}{field} must be {' or '.join(kinds)} "
                f"(text: an element path; object: element with resource, link, where, map), "
                f"not {type(error.instance).__name__}"
            )
    return f"{label}{error.message}"


def _schema_problems(file: Path, data: Mapping[str, Any], schema: str) -> list[CatalogueProblem]:
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [
        CatalogueProblem(str(file), _json_path(leaf.absolute_path), _explain(leaf))
        for error in errors
        for leaf in _leaf_errors(error)
    ]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _variable(raw: Mapping[str, Any]) -> Variable:
    return Variable(
        name=raw["name"],
        type=raw["type"],
        label=raw.get("label", ""),
        description=raw.get("description", ""),
        unit=raw.get("unit"),
        option_set=raw.get("option_set"),
        required_for=frozenset(raw.get("required_for", ())),
        min=raw.get("min"),
        max=raw.get("max"),
        max_length=raw.get("max_length"),
        pattern=raw.get("pattern"),
        format=raw.get("format"),
        generalised_from=raw.get("generalised_from"),
        severity=raw.get("severity", "error"),
    )


def _dataset(raw: Mapping[str, Any]) -> Dataset:
    relations = []
    for relation in raw.get("relations", ()):
        target_dataset, target_variable = relation["references"].split(".", 1)
        relations.append(Relation(relation["variable"], target_dataset, target_variable))
    validations = tuple(
        Validation(
            id=item["id"],
            severity=item["severity"],
            kind=item["rule"]["kind"],
            params={k: v for k, v in item["rule"].items() if k != "kind"},
            description=item.get("description", ""),
        )
        for item in raw.get("validations", ())
    )
    return Dataset(
        name=raw["name"],
        key=tuple(raw["key"]),
        variables=tuple(_variable(v) for v in raw["variables"]),
        relations=tuple(relations),
        calculated=tuple(
            CalculatedVariable(c["name"], c["expression"], c.get("description", ""))
            for c in raw.get("calculated", ())
        ),
        validations=validations,
        description=raw.get("description", ""),
    )


def build_dictionary(raw: Mapping[str, Any]) -> DataDictionary:
    """Build the typed dictionary from schema-valid data."""
    option_sets = {
        name: OptionSet(
            name=name,
            options=tuple(
                Option(str(o["code"]), o["label"], o.get("value")) for o in spec["options"]
            ),
            description=spec.get("description", ""),
        )
        for name, spec in raw.get("option_sets", {}).items()
    }
    return DataDictionary(
        id=raw["dictionary"],
        name=raw["name"],
        version=raw["version"],
        registry_holder=raw["registry_holder"],
        datasets=tuple(_dataset(d) for d in raw["datasets"]),
        option_sets=option_sets,
        published=_date(raw.get("published")),
        description=raw.get("description", ""),
        pseudonym_types=(
            tuple(PseudonymType(t) for t in raw["pseudonym_types"])
            if "pseudonym_types" in raw
            else None
        ),
    )


def _code_filter(raw: Mapping[str, Any] | None) -> CodeFilter | None:
    if raw is None:
        return None
    return CodeFilter(
        system=raw["system"], codes=tuple(raw.get("codes", ())), element=raw.get("element", "code")
    )


def _fhir_variable(raw: str | Mapping[str, Any]) -> FhirVariableSource:
    if isinstance(raw, str):
        return FhirVariableSource(element=raw)
    return FhirVariableSource(
        element=raw["element"],
        resource=raw.get("resource"),
        link=raw.get("link"),
        where=_code_filter(raw.get("where")),
        map=dict(raw.get("map", {})),
    )


def _csv_source(raw: Mapping[str, Any] | None) -> CsvSource | None:
    if raw is None:
        return None
    datasets = {
        name: CsvDatasetSource(
            file=spec["file"],
            columns=dict(spec["columns"]),
            identity=dict(spec.get("identity", {})),
            record_keys={k: tuple(v) for k, v in spec.get("record_keys", {}).items()},
            maps={column: dict(m) for column, m in spec.get("maps", {}).items()},
        )
        for name, spec in raw["datasets"].items()
    }
    defaults = CsvSource(datasets={})
    return CsvSource(
        datasets=datasets,
        encoding=raw.get("encoding", defaults.encoding),
        delimiter=raw.get("delimiter", defaults.delimiter),
        quote=raw.get("quote", defaults.quote),
        decimal=raw.get("decimal", defaults.decimal),
        date_formats=tuple(raw.get("date_formats", defaults.date_formats)),
        datetime_formats=tuple(raw.get("datetime_formats", defaults.datetime_formats)),
    )


def _fhir_source(raw: Mapping[str, Any] | None) -> FhirSource | None:
    if raw is None:
        return None
    return FhirSource(
        datasets={
            name: FhirDatasetSource(
                resource=spec["resource"],
                variables={v: _fhir_variable(s) for v, s in spec["variables"].items()},
                where=_code_filter(spec.get("where")),
            )
            for name, spec in raw["datasets"].items()
        },
        mrn_system=raw.get("mrn_system"),
    )


def content_sha256(*documents: Mapping[str, Any]) -> str:
    """sha256 of documents as data: the same keys and values give the same print."""
    canonical = json.dumps(documents, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_registration(
    raw: Mapping[str, Any],
    dictionary: DataDictionary,
    source_file: str = "",
    config_sha256: str = "",
) -> RegistrationConfig:
    """Build the typed registration config from schema-valid data."""
    period_dataset, period_variable = raw["period_variable"].split(".", 1)
    pseudo = raw["pseudonymisation"]
    delivery = raw["delivery"]
    validation = raw.get("validation", {})
    return RegistrationConfig(
        id=raw["id"],
        name=raw["name"],
        description=raw.get("description", ""),
        registry_holder_id=raw["registry_holder"]["id"],
        registry_holder_name=raw["registry_holder"]["name"],
        dictionary=dictionary,
        frequency=raw["frequency"],
        period_dataset=period_dataset,
        period_variable=period_variable,
        pseudonymisation=Pseudonymisation(
            ttp_mode=pseudo["ttp_mode"],
            types=tuple(PseudonymType(t) for t in pseudo["types"]),
            profile=pseudo.get("profile", "nl-2026.1"),
            bsn_justification=pseudo.get("bsn_justification"),
        ),
        delivery=Delivery(
            format=delivery["format"],
            channel=delivery["channel"],
            endpoint=delivery.get("endpoint"),
            receipt_timeout_seconds=delivery.get("receipt_timeout_seconds", 60),
            tls={str(k): str(v) for k, v in delivery.get("tls", {}).items()},
            allow_insecure_http=bool(delivery.get("allow_insecure_http", False)),
            fhir_content=delivery.get("fhir_content", "questionnaire"),
        ),
        validation=ValidationPolicy(
            block_on=validation.get("block_on", "error"),
            row_detail_limit=validation.get("row_detail_limit", 20),
            max_unpseudonymised_share=float(validation.get("max_unpseudonymised_share", 0.05)),
            empty_period=validation.get("empty_period", "refuse"),
        ),
        csv_source=_csv_source(raw["source"].get("csv")),
        fhir_source=_fhir_source(raw["source"].get("fhir")),
        start=_date(raw.get("start")) or date(2026, 1, 1),
        before_inclusion=raw.get("before_inclusion", "wait"),
        owner=raw.get("owner", "aanlevering"),
        source_file=source_file,
        config_sha256=config_sha256,
        not_names=tuple(str(word) for word in raw.get("not_names", ())),
    )


def _load_dictionaries(
    root: Path, problems: list[CatalogueProblem]
) -> dict[tuple[str, str], tuple[Path, DataDictionary, str]]:
    """Every sound dictionary by (id, version): its file, the dictionary and its content print."""
    dictionaries: dict[tuple[str, str], tuple[Path, DataDictionary, str]] = {}
    for file in yaml_input.misnamed_yaml_files((root / "dictionaries").glob("*/*")):
        problems.append(CatalogueProblem(str(file), "$", yaml_input.MISNAMED))
    for file in sorted((root / "dictionaries").glob("*/*.yaml")):
        loaded = _dictionary_file(file, problems)
        if loaded is not None:
            dictionaries[(file.parent.name, file.stem)] = loaded
    return dictionaries


def _dictionary_file(
    file: Path, problems: list[CatalogueProblem]
) -> tuple[Path, DataDictionary, str] | None:
    """One dictionary file: its file, the dictionary and its content print; None (and
    ``problems``) when it is not sound."""
    raw = _read_yaml(file, problems)
    if raw is None:
        return None
    schema_problems = _schema_problems(file, raw, "data-dictionary.schema.json")
    if schema_problems:
        problems.extend(schema_problems)
        return None
    expected = (file.parent.name, file.stem)
    if (raw["dictionary"], raw["version"]) != expected:
        problems.append(
            CatalogueProblem(
                str(file),
                "$.dictionary",
                f"file is named for {expected[0]} {expected[1]} but declares "
                f"{raw['dictionary']} {raw['version']}",
            )
        )
        return None
    return file, build_dictionary(raw), content_sha256(raw)


def load_dictionary(
    root: Path | str, dictionary_id: str, version: str | None = None
) -> DataDictionary:
    """One dictionary of the catalogue: ``version``, or the newest when None.

    ConfigError names the versions there are (or that there is none), and
    CatalogueInvalid lists the file's problems.
    """
    folder = Path(root) / "dictionaries" / dictionary_id
    versions = sorted(
        (p.stem for p in folder.glob("*.yaml")),
        key=lambda v: [int(x) if x.isdigit() else x for x in v.replace("-", ".").split(".")],
    )
    if not versions:
        known = sorted(p.name for p in (Path(root) / "dictionaries").glob("*") if p.is_dir())
        raise ConfigError(
            f"no dictionary {dictionary_id!r} under {Path(root) / 'dictionaries'} "
            f"(known: {', '.join(known) or 'none'})"
        )
    wanted = version or versions[-1]
    if wanted not in versions:
        raise ConfigError(
            f"dictionary {dictionary_id} has no version {wanted!r} (known: {', '.join(versions)})"
        )
    problems: list[CatalogueProblem] = []
    file = folder / f"{wanted}.yaml"
    raw = _read_yaml(file, problems)
    if raw is not None:
        problems.extend(_schema_problems(file, raw, "data-dictionary.schema.json"))
    if problems or raw is None:
        raise CatalogueInvalid(problems)
    return build_dictionary(raw)


def load_catalogue(root: Path | str) -> Catalogue:
    """Load and check every registration under ``root``.

    Raises :class:`CatalogueInvalid` (a ConfigError, exit code 2) listing every
    problem with its file and JSON path.
    """
    registrations, problems = load_registrations(root)
    if problems:
        raise CatalogueInvalid(problems)
    log.debug("loaded %d registrations from %s", len(registrations), root)
    return Catalogue(registrations=registrations, root=str(root))


def load_registration(root: Path | str, registration_id: str) -> RegistrationConfig:
    """One registration, fully checked, whatever state the other files are in.

    A run needs only its own registration: another engineer's broken file
    must not stop it (decision 0421). Raises CatalogueInvalid listing every
    problem when this registration does not load (its own file's and those of
    the dictionaries), ConfigError naming the known ids when there is none.

    Reads only the registration's own file and its dictionary when both are
    sound (decision 0740: every task process loads its registration, and the
    other files cost it CPU that grows with the catalogue); the whole
    catalogue otherwise, so every problem and error reads as before.
    """
    own = _own_registration(Path(root), registration_id)
    if own is not None:
        return own
    registrations, problems = load_registrations(root)
    return pick_registration(root, registrations, problems, registration_id)


def _own_registration(root: Path, registration_id: str) -> RegistrationConfig | None:
    """``registration_id`` from its own file and dictionary alone; None when anything is off.

    The same checks and the same result as :func:`load_registrations` gives
    for that file (nothing there looks across registrations). None for an id
    that is not exactly a file name the whole load would read, and for any
    problem: the caller then loads the whole catalogue to report it.
    """
    problems: list[CatalogueProblem] = []
    own = _own_file(root, registration_id, problems)
    if own is None:
        return None
    file, raw = own
    dictionary_id, version = raw["dictionary"]["id"], raw["dictionary"]["version"]
    dictionary_file = root / "dictionaries" / str(dictionary_id) / f"{version}.yaml"
    if not (_plain_name(dictionary_id) and _plain_name(version) and dictionary_file.is_file()):
        return None
    loaded = _dictionary_file(dictionary_file, problems)
    if loaded is None:
        return None
    _, dictionary, dictionary_sha256 = loaded
    return _checked_registration(file, raw, dictionary, dictionary_sha256, problems)


def _own_file(
    root: Path, registration_id: str, problems: list[CatalogueProblem]
) -> tuple[Path, dict[str, Any]] | None:
    """The registration's file and its schema-valid data; None when the whole load must say."""
    registrations = root / "registrations"
    file = registrations / f"{registration_id}.yaml"
    if not _plain_name(registration_id) or not file.is_file():
        return None
    if file.name not in {p.name for p in registrations.glob("*.yaml")}:
        return None  # another spelling of a file name (case-insensitive file systems)
    raw = _read_yaml(file, problems)
    if raw is None or _schema_problems(file, raw, "registration.schema.json"):
        return None
    return (file, raw) if raw["id"] == file.stem else None


def _plain_name(name: object) -> bool:
    """Whether ``name`` is one path segment that a ``*`` glob matches as itself."""
    return (
        isinstance(name, str)
        and bool(name)
        and name not in {".", ".."}
        and Path(name).name == name
        and "/" not in name
        and "\\" not in name
        and not any(c in name for c in "*?[")
    )


def _checked_registration(
    file: Path,
    raw: Mapping[str, Any],
    dictionary: DataDictionary,
    dictionary_sha256: str,
    problems: list[CatalogueProblem],
) -> RegistrationConfig | None:
    """Build a schema-valid registration and check it; None (and ``problems``) when unsound."""
    registration = build_registration(
        raw, dictionary, str(file), content_sha256(raw, {"dictionary": dictionary_sha256})
    )
    found = check_registration(registration) + identity_problems(registration)
    semantic = [CatalogueProblem(str(file), p, m) for p, m in found]
    if semantic:
        problems.extend(semantic)
        return None
    return registration


def pick_registration(
    root: Path | str,
    registrations: Mapping[str, RegistrationConfig],
    problems: list[CatalogueProblem],
    registration_id: str,
) -> RegistrationConfig:
    """``registration_id`` of a :func:`load_registrations` result, as :func:`load_registration`."""
    if registration_id in registrations:
        if problems:
            log.warning(
                "%d problem(s) in other files of catalogue %s; run `aanlevering registrations "
                "check`",
                len(problems),
                root,
            )
        return registrations[registration_id]
    own = Path(root) / "registrations" / f"{registration_id}.yaml"
    if own.is_file():
        dictionaries = Path(root) / "dictionaries"
        raise CatalogueInvalid(
            [p for p in problems if p.file == str(own) or Path(p.file).is_relative_to(dictionaries)]
        )
    return Catalogue(registrations=dict(registrations), root=str(root)).get(registration_id)


def load_loadable_catalogue(root: Path | str) -> tuple[Catalogue, CatalogueInvalid | None]:
    """The registrations under ``root`` that load, and the problems of the rest (or None).

    Why: the views over every registration (``status``, ``events rebuild``, the
    Deliveries page) show what loads and name what does not, so one broken file
    neither hides the rest nor goes unnoticed (decision 0474).
    """
    registrations, problems = load_registrations(root)
    catalogue = Catalogue(registrations=registrations, root=str(root))
    return catalogue, (CatalogueInvalid(problems) if problems else None)


def registration_ids(root: Path | str) -> frozenset[str]:
    """The ids of the catalogue's registrations: the names of its registration files.

    Why not :func:`load_registrations`: an opt-out's scope may name a registration
    whose file does not load today; it is still one of the hospital's (0732).
    """
    folder = Path(root) / "registrations"
    if not folder.is_dir():
        raise ConfigError(f"catalogue folder {root} has no 'registrations' folder")
    return frozenset(file.stem for file in folder.glob("*.yaml"))


def load_registrations(
    root: Path | str,
) -> tuple[dict[str, RegistrationConfig], list[CatalogueProblem]]:
    """The registrations that load and the problems of those that do not.

    ``registrations check`` uses this to check the valid ones further while
    reporting the others, so one broken file does not hide the rest.
    """
    root = Path(root)
    if not (root / "registrations").is_dir():
        raise ConfigError(f"catalogue folder {root} has no 'registrations' folder")
    problems: list[CatalogueProblem] = []
    dictionaries = _load_dictionaries(root, problems)
    registrations: dict[str, RegistrationConfig] = {}
    for file in yaml_input.misnamed_yaml_files((root / "registrations").iterdir()):
        problems.append(CatalogueProblem(str(file), "$", yaml_input.MISNAMED))
    for file in sorted((root / "registrations").glob("*.yaml")):
        raw = _read_yaml(file, problems)
        if raw is None:
            continue
        schema_problems = _schema_problems(file, raw, "registration.schema.json")
        if schema_problems:
            problems.extend(schema_problems)
            continue
        if raw["id"] != file.stem:
            problems.append(
                CatalogueProblem(str(file), "$.id", f"id {raw['id']!r} differs from file name")
            )
            continue
        key = (raw["dictionary"]["id"], raw["dictionary"]["version"])
        if key not in dictionaries:
            problems.append(
                CatalogueProblem(
                    str(file),
                    "$.dictionary",
                    (
                        f"dictionary {key[0]} version {key[1]} has problems (listed for its file)"
                        if (root / "dictionaries" / key[0] / f"{key[1]}.yaml").is_file()
                        else f"dictionary {key[0]} version {key[1]} not found under "
                        f"{root / 'dictionaries' / key[0]}"
                    ),
                )
            )
            continue
        _, dictionary, dictionary_sha256 = dictionaries[key]
        registration = _checked_registration(file, raw, dictionary, dictionary_sha256, problems)
        if registration is not None:
            registrations[registration.id] = registration
    return registrations, problems
