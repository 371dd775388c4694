"""The checks a data dictionary implies, per dataset and provider type, without GX.

Every rule the registry holder wrote down (variable names, types, option
sets, ranges, patterns, lengths, required-ness per provider type, unique keys,
cross-field validations) becomes one :class:`Check` with a stable rule id, a
severity and a plain-language description. Most checks run in Great
Expectations (``engine == "gx"``, see :mod:`aanlevering.validate.suites`);
two kinds can only be judged from what the extract saw and are evaluated next
to GX (``engine == "extract"``, see :mod:`aanlevering.validate.companion`):

* ``type``: a value that did not parse as its variable's type is null in the
  typed table, so GX cannot see it; the extract lists it as a TypeProblem.
  Wrong date formats land here too.
* ``relation``: records whose parent record is not in the extract are left out
  of the table by the extract and listed as orphans.

Keeping this module free of GX keeps it fast to import and easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aanlevering.catalogue.model import (
    DataDictionary,
    Dataset,
    Severity,
    Validation,
    Variable,
)
from aanlevering.errors import ConfigError

#: Provider types a dictionary can make variables required for.
PROVIDER_TYPES: tuple[str, ...] = ("hospital", "umc", "zbc")

CheckKind = Literal[
    "columns",
    "key_unique",
    "type",
    "required",
    "in_set",
    "between",
    "max_length",
    "pattern",
    "relation",
    "identity",
    "date_order",
    "compare",
    "required_if",
    "empty_unless",
]
Engine = Literal["gx", "extract"]

_TYPE_WORDS: Mapping[str, str] = {
    "string": "text",
    "code": "codes",
    "integer": "whole numbers",
    "decimal": "numbers",
    "date": "valid dates",
    "datetime": "valid date-times",
    "boolean": "yes/no values",
}


@dataclass(frozen=True)
class RowCondition:
    """Rows a conditional check applies to: ``column`` in ``values`` (or not in them).

    ``values`` are typed like the column (booleans for a boolean column), so
    the condition compares like with like. ``negate`` also selects rows where
    ``column`` is empty.
    """

    column: str
    values: tuple[str | int | float | bool, ...]
    negate: bool = False


@dataclass(frozen=True)
class Check:
    """One rule of the dictionary, ready to become an expectation or a companion check."""

    rule_id: str
    dataset: str
    kind: CheckKind
    severity: Severity
    description: str
    expectation_type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    variables: tuple[str, ...] = ()
    condition: RowCondition | None = None
    engine: Engine = "gx"

    @property
    def variable(self) -> str | None:
        """The single variable this check is about, if it is about one."""
        return self.variables[0] if len(self.variables) == 1 else None


def check_provider_type(provider_type: str) -> None:
    """Refuse a provider type the dictionaries do not know (it decides required-ness)."""
    if provider_type not in PROVIDER_TYPES:
        raise ConfigError(
            f"provider type {provider_type!r} is not one of {', '.join(PROVIDER_TYPES)} "
            "(set AANLEVERING_PROVIDER_TYPE)"
        )


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _variable_checks(
    dictionary: DataDictionary, dataset: Dataset, variable: Variable, provider_type: str
) -> list[Check]:
    name = variable.name
    unit = f" {variable.unit}" if variable.unit else ""
    written = f" (delivered as {variable.format})" if variable.format else ""

    def check(
        kind: CheckKind,
        description: str,
        expectation_type: str,
        extra: Mapping[str, Any] | None = None,
        engine: Engine = "gx",
    ) -> Check:
        return Check(
            rule_id=f"{dataset.name}.{name}.{kind}",
            dataset=dataset.name,
            kind=kind,
            severity=variable.severity,
            description=description,
            expectation_type=expectation_type,
            kwargs={"column": name, **(extra or {})},
            variables=(name,),
            engine=engine,
        )

    checks = [
        check(
            "type",
            f"{name} holds {_TYPE_WORDS[variable.type]}{written}.",
            "aanlevering_values_have_type",
            {"type": variable.type},
            engine="extract",
        )
    ]
    if variable.is_required_for(provider_type):
        checks.append(
            check(
                "required",
                f"{name} is filled in (required for {provider_type} providers).",
                "expect_column_values_to_not_be_null",
            )
        )
    if variable.option_set:
        codes = list(dictionary.option_sets[variable.option_set].codes)
        checks.append(
            check(
                "in_set",
                f"{name} is a code of option set {variable.option_set} ({', '.join(codes)}).",
                "expect_column_values_to_be_in_set",
                {"value_set": codes},
            )
        )
    if variable.type in ("integer", "decimal") and (
        variable.min is not None or variable.max is not None
    ):
        low = None if variable.min is None else _number(variable.min)
        high = None if variable.max is None else _number(variable.max)
        if low is not None and high is not None:
            text = f"{name} is between {low} and {high}{unit}."
        elif low is not None:
            text = f"{name} is at least {low}{unit}."
        else:
            text = f"{name} is at most {high}{unit}."
        checks.append(
            check(
                "between",
                text,
                "expect_column_values_to_be_between",
                {"min_value": low, "max_value": high},
            )
        )
    if variable.max_length is not None:
        checks.append(
            check(
                "max_length",
                f"{name} is at most {variable.max_length} characters long.",
                "expect_column_value_lengths_to_be_between",
                {"min_value": None, "max_value": variable.max_length},
            )
        )
    if variable.pattern:
        checks.append(
            check(
                "pattern",
                f"{name} matches the pattern {variable.pattern}.",
                "expect_column_values_to_match_regex",
                {"regex": variable.pattern},
            )
        )
    return checks


def typed_values(variable: Variable, when_in: list[str]) -> tuple[str | int | float | bool, ...]:
    """Turn the dictionary's textual ``when_in`` into values of the column's type."""
    if variable.type == "boolean":
        spelled = {"true": True, "false": False, "1": True, "0": False}
        try:
            return tuple(dict.fromkeys(spelled[v.strip().lower()] for v in when_in))
        except KeyError:
            raise ConfigError(
                f"variable {variable.name} is boolean; when_in must be true/false"
            ) from None
    if variable.type == "integer":
        return tuple(int(v) for v in when_in)
    if variable.type == "decimal":
        return tuple(float(v) for v in when_in)
    return tuple(when_in)


def _validation_check(dataset: Dataset, validation: Validation) -> Check:
    params = validation.params
    rule_id = f"{dataset.name}.{validation.id}"
    base: dict[str, Any] = {
        "rule_id": rule_id,
        "dataset": dataset.name,
        "severity": validation.severity,
    }
    if validation.kind in ("date_order", "compare"):
        low, high = (
            (str(params["earlier"]), str(params["later"]))
            if validation.kind == "date_order"
            else (str(params["smaller"]), str(params["larger"]))
        )
        or_equal = bool(params.get("or_equal", False))
        relation = "precedes or equals" if validation.kind == "date_order" else "is at most"
        if not or_equal:
            relation = "precedes" if validation.kind == "date_order" else "is less than"
        return Check(
            **base,
            kind=validation.kind,  # type: ignore[arg-type]
            description=validation.description or f"{low} {relation} {high}.",
            expectation_type="expect_column_pair_values_a_to_be_greater_than_b",
            kwargs={
                "column_A": high,
                "column_B": low,
                "or_equal": or_equal,
                "ignore_row_if": "either_value_is_missing",
            },
            variables=(low, high),
        )
    if validation.kind in ("required_if", "empty_unless"):
        target = str(params["variable"])
        when = str(params["when_variable"])
        when_in = [str(v) for v in params["when_in"]]  # type: ignore[attr-defined]
        values = typed_values(dataset.variable(when), when_in)
        shown = ", ".join(when_in)
        if validation.kind == "required_if":
            text = f"{target} is filled in when {when} is {shown}."
            expectation = "expect_column_values_to_not_be_null"
            condition = RowCondition(when, values)
        else:
            text = f"{target} is empty unless {when} is {shown}."
            expectation = "expect_column_values_to_be_null"
            condition = RowCondition(when, values, negate=True)
        return Check(
            **base,
            kind=validation.kind,  # type: ignore[arg-type]
            description=validation.description or text,
            expectation_type=expectation,
            kwargs={"column": target},
            variables=(target, when),
            condition=condition,
        )
    raise ConfigError(
        f"dataset {dataset.name}: validation {validation.id} has unsupported kind "
        f"{validation.kind!r}"
    )


def dataset_checks(dictionary: DataDictionary, dataset: Dataset, provider_type: str) -> list[Check]:
    """Every check of one dataset for one provider type, in a stable order.

    Order: table shape, key, then per variable (dictionary order), then
    relations and cross-field rules (dictionary order). Raises ConfigError for
    an unknown provider type or a rule this product cannot express.
    """
    check_provider_type(provider_type)
    names = list(dataset.variable_names)
    checks = [
        Check(
            rule_id=f"{dataset.name}.columns",
            dataset=dataset.name,
            kind="columns",
            severity="error",
            description=(
                f"The {dataset.name} records have exactly the {len(names)} variables of the "
                "dictionary, named and ordered as in the dictionary."
            ),
            expectation_type="expect_table_columns_to_match_ordered_list",
            kwargs={"column_list": names},
            variables=(),
        )
    ]
    if len(dataset.key) == 1:
        checks.append(
            Check(
                rule_id=f"{dataset.name}.key_unique",
                dataset=dataset.name,
                kind="key_unique",
                severity="error",
                description=f"Each {dataset.name} record has its own {dataset.key[0]}.",
                expectation_type="expect_column_values_to_be_unique",
                kwargs={"column": dataset.key[0]},
                variables=dataset.key,
            )
        )
    else:
        checks.append(
            Check(
                rule_id=f"{dataset.name}.key_unique",
                dataset=dataset.name,
                kind="key_unique",
                severity="error",
                description=(
                    f"Each {dataset.name} record has its own combination of "
                    f"{', '.join(dataset.key)}."
                ),
                expectation_type="expect_compound_columns_to_be_unique",
                kwargs={"column_list": list(dataset.key)},
                variables=dataset.key,
            )
        )
    for variable in dataset.variables:
        checks.extend(_variable_checks(dictionary, dataset, variable, provider_type))
    for relation in dataset.relations:
        checks.append(
            Check(
                rule_id=f"{dataset.name}.{relation.variable}.relation",
                dataset=dataset.name,
                kind="relation",
                severity="error",
                description=(
                    f"Each {dataset.name} record refers through {relation.variable} to a "
                    f"{relation.dataset} record of the extract."
                ),
                expectation_type="aanlevering_parent_record_exists",
                kwargs={
                    "column": relation.variable,
                    "parent_dataset": relation.dataset,
                    "parent_column": relation.target_variable,
                },
                variables=(relation.variable,),
                engine="extract",
            )
        )
    for validation in dataset.validations:
        checks.append(_validation_check(dataset, validation))
    return checks
