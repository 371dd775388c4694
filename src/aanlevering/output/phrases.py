"""Identifiers the output guard searches as phrases: consecutive tokens of one value.

Some identifiers are identifying only together (decision 0411): a street
with its house number ("Dorpsstraat 12"), an e-mail address (its tokens in
order), and a family name that is an ordinary word ("Groot") with a given
name, an initial, a title or the patient's own prefix ("Anna Groot",
"A. Groot", "mw. Groot", "de Groot"). Alone, "Dorpsstraat", "Anna" (as in
"Anna-score") and "groot" say nothing about a patient and do not block.

Each phrase has an *anchor*: one of its tokens that the guard's token pass
looks for to find candidate lines (any line holding the phrase holds its
anchor); only those lines are parsed and their values' token sequences
compared with the phrases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
import pyarrow.compute as pc

#: How a text addresses a person before the family name (lower-case tokens).
TITLES = frozenset(
    {"mw", "mevr", "mevrouw", "dhr", "hr", "heer", "meneer", "fam", "familie", "dr", "drs", "ir"}
)
STREET = "a street and house number"
EMAIL = "an e-mail address"
NAME = "a name"
_SPLIT = re.compile(r"[\W_]+")


def words(value: str) -> tuple[str, ...]:
    """The lower-case tokens of ``value``, in order (as the guard splits values)."""
    return tuple(token for token in _SPLIT.split(value.lower()) if token)


@dataclass(frozen=True)
class Phrases:
    """Phrases by kind, and the anchor tokens that find their lines (never logged)."""

    by_kind: Mapping[str, frozenset[tuple[str, ...]]]
    anchors: frozenset[str]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.by_kind.items())
        return f"Phrases({sizes})"

    @cached_property
    def lengths(self) -> frozenset[int]:
        """How many tokens the phrases have (a few distinct lengths)."""
        return frozenset(len(p) for phrases in self.by_kind.values() for p in phrases)

    def kinds_in(self, tokens: Sequence[str]) -> set[str]:
        """The kinds of phrase that ``tokens`` (one value, in order) holds."""
        found: set[str] = set()
        grams = {tuple(tokens[i : i + k]) for k in self.lengths for i in range(len(tokens) - k + 1)}
        for kind, phrases in self.by_kind.items():
            if not phrases.isdisjoint(grams):
                found.add(kind)
        return found


def _longest(tokens: Sequence[str]) -> str:
    """The anchor among ``tokens``: the longest (rarest, as a rule), the first of equals."""
    return max(tokens, key=len)


def street_phrases(
    streets: Iterable[str | None],
    numbers: Iterable[str | None],
    additions: Iterable[str | None],
) -> dict[tuple[str, ...], str]:
    """(street tokens, house number) and, with an addition, (street tokens, number+addition),
    each with its anchor (the longest street token)."""
    found: dict[tuple[str, ...], str] = {}
    for street, number, addition in zip(streets, numbers, additions, strict=True):
        street_words = words(street or "")
        number_words = words(number or "")
        if not street_words or len(number_words) != 1:
            continue
        anchor = _longest(street_words)
        found[(*street_words, *number_words)] = anchor
        if addition and (extra := "".join(words(addition))):
            found[(*street_words, number_words[0] + extra)] = anchor
    return found


def email_phrases(values: Iterable[str | None]) -> dict[tuple[str, ...], str]:
    """The tokens of each e-mail address, in order (several per value: ``;`` or ``,`` apart),
    each with its anchor: the longest token before the ``@`` (the domain is shared)."""
    found: dict[tuple[str, ...], str] = {}
    for value in values:
        for part in re.split(r"[;,\s]+", value or ""):
            local, at, domain = part.partition("@")
            if at and words(local) and words(domain):
                found[words(part)] = _longest(words(local))
    return found


def _initials(value: str | None) -> set[str]:
    return {token[0] for token in words(value or "") if token.isalpha()}


def name_phrases(
    rows: Iterable[Mapping[str, str | None]], searched: frozenset[str]
) -> dict[tuple[str, ...], str]:
    """Phrases of the family names no token of which is searched alone (``searched``).

    ``rows``: identity rows (``own_prefix``, ``own_name``, ``partner_prefix``,
    ``partner_name``, ``given_names``, ``initials``). A family name whose
    every token is a common word or too short is searched after the patient's
    prefix, after a title, one of the patient's given names or initials (with
    or without the prefix), and before a given name ("Groot, Anna"); the
    anchor is the longest token of the family name.
    """
    found: dict[tuple[str, ...], str] = {}
    for row in rows:
        given = [g for g in words(row.get("given_names") or "") if len(g) >= 2]
        initials = _initials(row.get("initials")) | {g[0] for g in given if g.isalpha()}
        for prefix_field, name_field in (
            ("own_prefix", "own_name"),
            ("partner_prefix", "partner_name"),
        ):
            family = words(row.get(name_field) or "")
            if not family or not searched.isdisjoint(family):
                continue  # found alone already
            anchor = _longest(family)
            prefix = words(row.get(prefix_field) or "")
            if prefix:
                found[(*prefix, *family)] = anchor
            for lead in (*TITLES, *given, *initials):
                found[(lead, *prefix, *family)] = anchor
                found[(lead, *family)] = anchor  # the prefix left out ("mw. Groot")
            for name in given:
                found[(*prefix, *family, name)] = anchor
                found[(*family, name)] = anchor
    return found


def common_family_rows(table: pa.Table, searched: frozenset[str]) -> list[dict[str, str | None]]:
    """Identity rows whose own or partner family name is no token searched alone.

    Only those need phrases; they are picked in Arrow (most family names are
    searched alone), then read as Python rows.
    """
    fields = ("own_prefix", "own_name", "partner_prefix", "partner_name", "given_names", "initials")
    present = [f for f in fields if f in table.column_names]
    if "own_name" not in present and "partner_name" not in present:
        return []
    mask = None
    for name in ("own_name", "partner_name"):
        if name not in present:
            continue
        lowered = pc.utf8_lower(table.column(name))
        tokens = pc.split_pattern_regex(lowered, r"[^\p{L}\p{N}]+")
        flat = pc.list_flatten(tokens)
        hit = pc.is_in(flat, value_set=pa.array(sorted(searched), pa.string()))
        parents = pc.list_parent_indices(tokens)
        searched_rows = pc.unique(pc.filter(parents, hit))
        has_name = pc.and_(
            pc.is_valid(lowered), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(lowered)), 0)
        )
        alone = pc.is_in(pa.array(range(table.num_rows)), value_set=searched_rows)
        this = pc.and_(has_name, pc.invert(alone))
        mask = this if mask is None else pc.or_(mask, this)
    if mask is None:
        return []
    rows: list[dict[str, str | None]] = table.select(present).filter(mask).to_pylist()
    return rows


_ADDRESS = ("street", "house_number", "house_number_addition")


def _column(table: pa.Table, name: str) -> list[str | None]:
    if name not in table.column_names:
        return [None] * table.num_rows
    values: list[str | None] = table.column(name).to_pylist()
    return values


def build(tables: Iterable[pa.Table], searched: frozenset[str]) -> Phrases:
    """The run's phrases, from its identity tables; ``searched``: the name tokens searched alone."""
    streets: dict[tuple[str, ...], str] = {}
    emails: dict[tuple[str, ...], str] = {}
    names: dict[tuple[str, ...], str] = {}
    for table in tables:
        if "street" in table.column_names and table.column("street").null_count < table.num_rows:
            present = [c for c in _ADDRESS if c in table.column_names]
            address = table.select(present).group_by(present).aggregate([])  # distinct
            streets.update(street_phrases(*(_column(address, c) for c in _ADDRESS)))
        if "email" in table.column_names:
            distinct = pc.unique(pc.drop_null(table.column("email"))).to_pylist()
            emails.update(email_phrases(distinct))
        names.update(name_phrases(common_family_rows(table, searched), searched))
    anchors = {*streets.values(), *emails.values(), *names.values()}
    by_kind = {STREET: frozenset(streets), EMAIL: frozenset(emails), NAME: frozenset(names)}
    return Phrases({k: v for k, v in by_kind.items() if v}, frozenset(anchors))
