"""Expectation suites generated from data dictionaries, kept in the GX file context.

One suite per dictionary version, dataset and provider type, named
``<dictionary>-<version>-<dataset>-<provider type>`` with the version's dots
written as underscores (``dsaa-2026_1-operatie-umc``: GX's file store would
turn dots into sub-folders).
Nobody edits them: :func:`sync_suites` (``aanlevering validate --regenerate-suites``)
writes what the dictionaries imply, and a test fails when the committed files
differ from freshly generated ones. Each suite's meta carries a fingerprint
of its dictionary inputs plus the generator version; :func:`load_suite_document`
regenerates in memory when the stored fingerprint or content differs, so a
validation always applies the dictionary as loaded, never a stale suite.

GX assigns fresh random ids whenever a suite is saved, so comparisons use the
:func:`canonical` form (ids left out), and unchanged suites are not rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import Catalogue, DataDictionary, Dataset
from aanlevering.errors import ConfigError
from aanlevering.validate.checks import PROVIDER_TYPES, Check, RowCondition, dataset_checks
from aanlevering.validate.gx import import_gx, open_file_context

log = logging.getLogger(__name__)

#: Bump when the generator's output changes for the same dictionary.
GENERATOR_VERSION = 1
GENERATED_BY = "aanlevering.validate"

_GX_SEVERITY = {"error": "critical", "warning": "warning"}


def suite_name(dictionary: DataDictionary, dataset: str, provider_type: str) -> str:
    """Name of the suite of one dictionary version, dataset and provider type."""
    version = dictionary.version.replace(".", "_")
    return f"{dictionary.id}-{version}-{dataset}-{provider_type}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def fingerprint(dictionary: DataDictionary, dataset: Dataset, provider_type: str) -> str:
    """Hash of everything the suite is generated from (changes => regenerate)."""
    used = sorted({v.option_set for v in dataset.variables if v.option_set})
    payload = {
        "generator_version": GENERATOR_VERSION,
        "dictionary": dictionary.id,
        "version": dictionary.version,
        "provider_type": provider_type,
        "dataset": _plain(asdict(dataset)),
        "option_sets": {name: _plain(asdict(dictionary.option_sets[name])) for name in used},
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row_condition(condition: RowCondition) -> Any:
    from great_expectations.expectations.row_conditions import Column

    column = Column(condition.column)
    values = list(condition.values)
    if all(isinstance(v, bool) for v in values):
        both = set(values) == {True, False}
        if not condition.negate:
            return column.is_not_null() if both else column == values[0]
        return column.is_null() if both else column.is_null() | (column != values[0])
    if not condition.negate:
        return column.is_in(values)
    return column.is_null() | column.is_not_in(values)


def check_meta(dictionary: DataDictionary, check: Check) -> dict[str, Any]:
    """What every expectation carries so results trace back to the dictionary rule."""
    return {
        "rule_id": check.rule_id,
        "dictionary": dictionary.id,
        "dictionary_version": dictionary.version,
        "dataset": check.dataset,
        "variable": check.variable,
        "variables": list(check.variables),
        "kind": check.kind,
        "severity": check.severity,
        "description": check.description,
    }


def _expectation(dictionary: DataDictionary, check: Check) -> dict[str, Any]:
    kwargs = {k: v for k, v in check.kwargs.items() if v is not None}
    if check.condition is not None:
        kwargs["row_condition"] = _row_condition(check.condition)
    return {
        "type": check.expectation_type,
        "kwargs": kwargs,
        "meta": check_meta(dictionary, check),
        "severity": _GX_SEVERITY[check.severity],
    }


def _companion(dictionary: DataDictionary, check: Check) -> dict[str, Any]:
    return {**check_meta(dictionary, check), "check": check.expectation_type, **check.kwargs}


def build_suite(dictionary: DataDictionary, dataset: Dataset, provider_type: str) -> Any:
    """The GX ExpectationSuite of one dataset and provider type (not attached to a context)."""
    gx = import_gx()
    checks = dataset_checks(dictionary, dataset, provider_type)
    return gx.ExpectationSuite(
        name=suite_name(dictionary, dataset.name, provider_type),
        expectations=[_expectation(dictionary, c) for c in checks if c.engine == "gx"],
        meta={
            "generated_by": GENERATED_BY,
            "generator_version": GENERATOR_VERSION,
            "dictionary": dictionary.id,
            "dictionary_version": dictionary.version,
            "dataset": dataset.name,
            "provider_type": provider_type,
            "fingerprint": fingerprint(dictionary, dataset, provider_type),
            "companion_checks": [_companion(dictionary, c) for c in checks if c.engine != "gx"],
        },
        notes=(
            f"Generated from data dictionary {dictionary.id} {dictionary.version} "
            "by `aanlevering validate --regenerate-suites`. Do not edit: change the dictionary."
        ),
    )


def canonical(suite: Any) -> dict[str, Any]:
    """The suite as JSON without GX's random ids, for comparing stored and fresh suites."""
    document = json.loads(json.dumps(suite.to_json_dict(), default=str))
    document.pop("id", None)
    for expectation in document.get("expectations", []):
        expectation.pop("id", None)
        expectation.pop("rendered_content", None)
    return dict(document)


def catalogue_dictionaries(catalogue: Catalogue) -> list[DataDictionary]:
    """Each dictionary version the catalogue's registrations use, once."""
    seen: dict[tuple[str, str], DataDictionary] = {}
    for config in catalogue:
        key = (config.dictionary.id, config.dictionary.version)
        seen.setdefault(key, config.dictionary)
    return [seen[key] for key in sorted(seen)]


def _all_suites(
    dictionaries: Iterable[DataDictionary],
) -> Iterator[tuple[DataDictionary, Dataset, str]]:
    for dictionary in dictionaries:
        for dataset in dictionary.datasets:
            for provider_type in PROVIDER_TYPES:
                yield dictionary, dataset, provider_type


@dataclass(frozen=True)
class SuiteSync:
    """What :func:`sync_suites` found (and, unless checking, did)."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def in_sync(self) -> bool:
        """Whether the file context already held exactly the generated suites."""
        return not self.written and not self.removed


def sync_suites(
    dictionaries: Iterable[DataDictionary], root: Path, *, check_only: bool = False
) -> SuiteSync:
    """Make the file context at ``root`` hold exactly the generated suites.

    Writes suites that are missing or differ, leaves identical ones alone (no
    id churn in git) and removes generated suites no dictionary produces any
    more; hand-made suites (no ``generated_by`` meta) are left alone. With
    ``check_only`` nothing is written and the result says what would change.
    """
    context = open_file_context(root)
    wanted: dict[str, Any] = {}
    for dictionary, dataset, provider_type in _all_suites(dictionaries):
        suite = build_suite(dictionary, dataset, provider_type)
        wanted[suite.name] = suite
    existing = {suite.name: suite for suite in context.suites.all()}
    written, unchanged, removed = [], [], []
    for name, suite in sorted(wanted.items()):
        stored = existing.get(name)
        if stored is not None and canonical(stored) == canonical(suite):
            unchanged.append(name)
            continue
        written.append(name)
        if check_only:
            continue
        if stored is not None:
            context.suites.delete(name)
        context.suites.add(suite)
        log.info("wrote expectation suite %s", name)
    for name, stored in sorted(existing.items()):
        if name in wanted or (stored.meta or {}).get("generated_by") != GENERATED_BY:
            continue
        removed.append(name)
        if not check_only:
            context.suites.delete(name)
            log.info("removed expectation suite %s (no dictionary generates it)", name)
    return SuiteSync(tuple(written), tuple(unchanged), tuple(removed))


@dataclass(frozen=True)
class SuiteDocument:
    """The suite a run applies, and where it came from (for the report and the log)."""

    name: str
    fingerprint: str
    document: dict[str, Any]
    source: str  # "file-context" | "generated"


def load_suite_document(
    dictionary: DataDictionary, dataset: Dataset, provider_type: str, root: Path | None
) -> SuiteDocument:
    """The suite to validate ``dataset`` with: the committed one when it is current.

    When the file context has no such suite, or its fingerprint or content
    differs from what the dictionary implies now, the freshly generated suite
    is used and a warning asks for ``aanlevering validate --regenerate-suites``.
    """
    fresh = build_suite(dictionary, dataset, provider_type)
    fresh_document = canonical(fresh)
    print_name = fresh.name
    source = "generated"
    if root is not None:
        from great_expectations.exceptions.exceptions import DataContextError

        try:
            stored = open_file_context(root).suites.get(print_name)
        except DataContextError:
            log.warning(
                "expectation suite %s not found in %s; using one generated from the "
                "dictionary; run `aanlevering validate --regenerate-suites`",
                print_name,
                root,
            )
        else:
            stored_document = canonical(stored)
            if stored_document == fresh_document:
                source = "file-context"
            else:
                stale = (stored.meta or {}).get("fingerprint") != fresh.meta["fingerprint"]
                log.warning(
                    "expectation suite %s in %s is %s; using one generated from the "
                    "dictionary; run `aanlevering validate --regenerate-suites`",
                    print_name,
                    root,
                    "stale (dictionary changed)" if stale else "edited by hand",
                )
    if not fresh_document.get("expectations"):
        raise ConfigError(f"expectation suite {print_name} has no expectations")
    return SuiteDocument(
        name=print_name,
        fingerprint=str(fresh.meta["fingerprint"]),
        document=fresh_document,
        source=source,
    )
