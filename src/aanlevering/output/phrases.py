"""Identifiers the output guard searches as phrases: consecutive tokens of one value.

Some identifiers are identifying only together (decision 0411): a street
with its house number ("Dorpsstraat 12"), an e-mail address (its tokens in
order), and a family name that is an ordinary word ("Groot") with a given
name, an initial, a title or the patient's own prefix ("Anna Groot",
"A. Groot", "mw. Groot", "de Groot"). Alone, "Dorpsstraat", "Anna" (as in
"Anna-score") and "groot" say nothing about a patient and do not block.
Such a family name followed by its own initials, as Dutch notes and letters
write a patient ("Groot, A.J.", "GROOT AJ", "Groot, de, A."), is found too
(decision 0940): the value is read with :func:`initials_after` only when its
tokens put one of the name's initials right after it (:meth:`Phrases.initialled_in`,
pinned to :func:`initialled_in_reference`), and a single ``a.``, ``v.``, ``n.``
or ``m.`` before an anatomical term ("groot, a. femoralis") is no initial.

Each phrase has an *anchor*: one of its tokens that the guard's token pass
looks for to find candidate lines (any line holding the phrase holds its
anchor); only those lines are parsed and their values' token sequences
compared with the phrases. A phrase is kept as its tokens joined by one
space (tokens hold no space): a string per phrase, not a tuple of them, for
the memory of a million patients' addresses.

Streets and e-mail addresses of a million patients are split in Arrow
(:func:`street_phrases`, :func:`email_phrases`); the ``*_reference``
functions say the same per value in Python and pin them in tests.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.output.initials import initials_after

#: How a text addresses a person before the family name (lower-case tokens).
TITLES = frozenset(
    {"mw", "mevr", "mevrouw", "dhr", "hr", "heer", "meneer", "fam", "familie", "dr", "drs", "ir"}
)
#: An e-mail anchor shorter than this would make most lines candidates (the coarse pass).
SHORTEST_ANCHOR = 3
STREET = "a street and house number"
EMAIL = "an e-mail address"
NAME = "a name"
FAMILY_INITIALS = "a family name with initials"
#: An initials token after a family name ("a", "aj", "ajm"): longer tokens are words.
LONGEST_INITIALS = 4
_SPLIT = re.compile(r"[\W_]+")
#: What stands between two e-mail addresses in one field (the same in Python and RE2).
_EMAIL_SEPARATORS = r"[;,\t\n\f\r ]+"


def words(value: str) -> tuple[str, ...]:
    """The lower-case tokens of ``value``, in order (as the guard splits values)."""
    return tuple(token for token in _SPLIT.split(value.lower()) if token)


#: :func:`words` remembered: names and given names repeat across a million patients.
_name_words = functools.lru_cache(maxsize=1 << 16)(words)


@dataclass(frozen=True)
class Phrases:
    """Phrases by kind, and the anchor tokens that find their lines (never logged).

    ``titled``: family names (with and without prefix) that are a name after
    any of :data:`TITLES`; kept apart so a title is not multiplied into a
    phrase per patient (memory at a million patients). ``initialled``: per
    family name as written (plain, with its prefix before or after it), the
    initials of the run's patients so named: a name before its initials
    (decision 0940); their anchors are the titled names'.
    """

    by_kind: Mapping[str, frozenset[str]]
    anchors: frozenset[str]
    titled: frozenset[str] = frozenset()
    initialled: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.by_kind.items())
        return f"Phrases({sizes}, titled: {len(self.titled)}, initialled: {len(self.initialled)})"

    @cached_property
    def lengths(self) -> frozenset[int]:
        """How many tokens the phrases have (a few distinct lengths)."""
        return frozenset(p.count(" ") + 1 for phrases in self.by_kind.values() for p in phrases)

    @cached_property
    def titled_lengths(self) -> frozenset[int]:
        """How many tokens the :attr:`titled` names have."""
        return frozenset(p.count(" ") + 1 for p in self.titled)

    @cached_property
    def initialled_lengths(self) -> frozenset[int]:
        """How many tokens the :attr:`initialled` names have."""
        return frozenset(p.count(" ") + 1 for p in self.initialled)

    def initialled_in(self, tokens: Sequence[str], text: str) -> bool:
        """Whether the value ``text`` (its :func:`words`: ``tokens``) holds a family name
        of :attr:`initialled` followed by its initials.

        Why two steps: the expression of :func:`initials_after` reads separators
        and case that tokens lose, but a million records' candidate values are
        read only where a token after the name is short and starts with one of
        its initials. The same verdict as :func:`initialled_in_reference` (pinned).
        """
        if not self.initialled:
            return False
        capitals = text != text.lower()  # "AJ" needs capitals; "a", "a.j.", "A J" one letter
        for j in range(1, len(tokens)):
            after = tokens[j]
            if len(after) > 1 and (not capitals or len(after) > LONGEST_INITIALS):
                continue
            for k in self.initialled_lengths:
                if k > j:
                    continue
                written = " ".join(tokens[j - k : j])
                letters = self.initialled.get(written)
                if letters and after[0] in letters and initials_after(text, written, letters):
                    return True
        return False

    def kinds_in(self, tokens: Sequence[str], text: str | None = None) -> set[str]:
        """The kinds of phrase that ``tokens`` (one value, in order) holds.

        ``text``: the value itself, for a family name with its initials after it
        (:meth:`initialled_in`); without it that kind is not looked for.
        """
        found: set[str] = set()
        grams = {
            " ".join(tokens[i : i + k]) for k in self.lengths for i in range(len(tokens) - k + 1)
        }
        for kind, phrases in self.by_kind.items():
            if not phrases.isdisjoint(grams):
                found.add(kind)
        for i, token in enumerate(tokens):
            if token in TITLES and any(
                " ".join(tokens[i + 1 : i + 1 + k]) in self.titled for k in self.titled_lengths
            ):
                found.add(NAME)
        if text is not None and self.initialled_in(tokens, text):
            found.add(FAMILY_INITIALS)
        return found


def initialled_in_reference(text: str, initialled: Mapping[str, frozenset[str]]) -> bool:
    """:meth:`Phrases.initialled_in` without its token step: every name read in ``text``."""
    return any(initials_after(text, written, letters) for written, letters in initialled.items())


def _longest(tokens: Sequence[str]) -> str:
    """The anchor among ``tokens``: the longest (rarest, as a rule), the first of equals."""
    return max(tokens, key=len)


def street_phrases_reference(
    streets: Iterable[str | None],
    numbers: Iterable[str | None],
    additions: Iterable[str | None],
) -> dict[str, str]:
    """ "street tokens, house number" and, with an addition, "street tokens, number+addition",
    each with its anchor (the longest street token), address by address."""
    found: dict[str, str] = {}
    for street, number, addition in zip(streets, numbers, additions, strict=True):
        street_words = words(street or "")
        number_words = words(number or "")
        if not street_words or len(number_words) != 1:
            continue
        anchor = _longest(street_words)
        found[" ".join((*street_words, *number_words))] = anchor
        if addition and (extra := "".join(words(addition))):
            found[" ".join((*street_words, number_words[0] + extra))] = anchor
    return found


def _split_ascii(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(tokens joined by a space, the longest token) of ASCII values, as :func:`words` splits.

    Arrow's ``ascii_lower`` and split on ``[^a-z0-9]+`` are Python's for ASCII;
    the first longest token per value is picked with NumPy.
    """
    tokens = pc.split_pattern_regex(pc.ascii_lower(column), "[^a-z0-9]+")
    joined = pc.utf8_trim(pc.binary_join(tokens, " "), " ")
    flat = pc.list_flatten(tokens)
    lengths = pc.utf8_length(flat).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(tokens).to_numpy(zero_copy_only=False)
    order = np.lexsort((np.arange(len(flat)), -lengths, parents))
    firsts = order[np.flatnonzero(np.diff(parents[order], prepend=-1))]
    longest = pc.take(flat, pa.array(firsts, pa.int64()))  # every value has a token ("")
    return joined, longest


def _is_ascii(*columns: pa.Array) -> pa.Array:
    mask = pa.array([True] * len(columns[0]), pa.bool_())
    for column in columns:
        mask = pc.and_(mask, pc.fill_null(pc.string_is_ascii(column), True))
    return mask


def street_phrases(streets: pa.Array, numbers: pa.Array, additions: pa.Array) -> dict[str, str]:
    """:func:`street_phrases_reference` for distinct addresses at once (pinned by tests)."""
    ascii_mask = _is_ascii(streets, numbers, additions)
    other = pc.invert(ascii_mask)
    found = street_phrases_reference(
        *(pc.filter(c, other).to_pylist() for c in (streets, numbers, additions))
    )
    streets, numbers, additions = (
        pc.fill_null(pc.filter(c, ascii_mask), "") for c in (streets, numbers, additions)
    )
    street, anchor = _split_ascii(streets)
    number, _ = _split_ascii(numbers)
    extra = pc.replace_substring_regex(pc.ascii_lower(additions), "[^a-z0-9]+", "")
    usable = pc.and_(pc.greater(pc.utf8_length(street), 0), pc.greater(pc.utf8_length(number), 0))
    usable = pc.and_(usable, pc.invert(pc.match_substring(number, " ")))
    street, anchor, number, extra = (pc.filter(c, usable) for c in (street, anchor, number, extra))
    plain = pc.binary_join_element_wise(street, number, " ")
    found.update(zip(plain.to_pylist(), anchor.to_pylist(), strict=True))
    added = pc.greater(pc.utf8_length(extra), 0)
    with_extra = pc.binary_join_element_wise(pc.filter(plain, added), pc.filter(extra, added), "")
    found.update(zip(with_extra.to_pylist(), pc.filter(anchor, added).to_pylist(), strict=True))
    return found


def email_phrases_reference(values: Iterable[str | None]) -> dict[str, str]:
    """The tokens of each e-mail address, in order (several per value: ``;`` or ``,`` apart),
    each with its anchor: the longest token before the ``@`` (the domain is shared), or of
    the whole address when that is shorter than :data:`SHORTEST_ANCHOR`."""
    found: dict[str, str] = {}
    for value in values:
        for part in re.split(_EMAIL_SEPARATORS, value or ""):
            local, at, domain = part.partition("@")
            if at and words(local) and words(domain):
                anchor = _longest(words(local))
                if len(anchor) < SHORTEST_ANCHOR:  # "a.b@...": a token in every other line
                    anchor = _longest(words(part))
                found[" ".join(words(part))] = anchor
    return found


def email_phrases(values: Iterable[str | None]) -> dict[str, str]:
    """:func:`email_phrases_reference` with the splitting in Arrow (pinned by tests).

    For ASCII addresses (any other takes the reference) Arrow's ``ascii_lower``
    and split on ``[^a-z0-9]`` are Python's ``[\\W_]`` split.
    """
    column = pa.array([v for v in values if v], pa.string())
    parts = pc.list_flatten(pc.split_pattern_regex(column, _EMAIL_SEPARATORS))
    parts = pc.unique(pc.filter(parts, pc.match_substring(parts, "@")))
    ascii_mask = pc.string_is_ascii(parts)
    found = email_phrases_reference(pc.filter(parts, pc.invert(ascii_mask)).to_pylist())
    parts = pc.filter(parts, ascii_mask)
    halves = pc.split_pattern(parts, "@", max_splits=1)
    local, domain = pc.list_element(halves, 0), pc.list_element(halves, 1)
    phrase, longest = _split_ascii(parts)
    local_words, anchor = _split_ascii(local)
    anchor = pc.if_else(pc.less(pc.utf8_length(anchor), SHORTEST_ANCHOR), longest, anchor)
    domain_words, _ = _split_ascii(domain)
    usable = pc.and_(
        pc.greater(pc.utf8_length(local_words), 0), pc.greater(pc.utf8_length(domain_words), 0)
    )
    phrase, anchor = pc.filter(phrase, usable), pc.filter(anchor, usable)
    found.update(zip(phrase.to_pylist(), anchor.to_pylist(), strict=True))
    return found


def _initials(value: str | None) -> set[str]:
    return {token[0] for token in _name_words(value or "") if token.isalpha()}


def name_phrases(
    rows: Iterable[Mapping[str, str | None]], searched: frozenset[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Phrases of the family names no token of which is searched alone (``searched``).

    ``rows``: identity rows (``own_prefix``, ``own_name``, ``partner_prefix``,
    ``partner_name``, ``given_names``, ``initials``). A family name whose
    every token is a common word or too short is searched after the patient's
    prefix, after a title, one of the patient's given names or initials (with
    or without the prefix), and before a given name ("Groot, Anna"); the
    anchor is the longest token of the family name. Returns the phrases and,
    apart, the names to search after a title (:attr:`Phrases.titled`).
    """
    found: dict[str, str] = {}
    titled: dict[str, str] = {}
    for row in rows:
        given = [g for g in _name_words(row.get("given_names") or "") if len(g) >= 2]
        initials = _initials(row.get("initials")) | {g[0] for g in given if g.isalpha()}
        for prefix_field, name_field in (
            ("own_prefix", "own_name"),
            ("partner_prefix", "partner_name"),
        ):
            family = _name_words(row.get(name_field) or "")
            if not family or not searched.isdisjoint(family):
                continue  # found alone already
            anchor = _longest(family)
            name = " ".join(family)
            full = " ".join((*_name_words(row.get(prefix_field) or ""), *family))
            if full != name:
                found[full] = anchor
            for written in {full, name}:  # with the prefix and without ("mw. Groot")
                titled[written] = anchor
                for lead in (*given, *initials):
                    found[f"{lead} {written}"] = anchor
                for given_name in given:
                    found[f"{written} {given_name}"] = anchor
    return found, titled


def _written_forms(prefix: str | None, family: Sequence[str]) -> set[str]:
    """A family name as a text writes it before initials: plain, with its prefix before
    it ("de groot") and after it, as a register sorts ("Groot, de, A.": "groot de")."""
    prefix_words = _name_words(prefix or "")
    return {
        " ".join(family),
        " ".join((*prefix_words, *family)),
        " ".join((*family, *prefix_words)),
    }


def initialled_names_reference(
    rows: Iterable[Mapping[str, str | None]], searched: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Per family name as written (:func:`_written_forms`), the initials of its rows: the
    reference of :attr:`Phrases.initialled`, row by row as :func:`name_phrases`."""
    found: dict[str, set[str]] = {}
    for row in rows:
        given = [g for g in _name_words(row.get("given_names") or "") if len(g) >= 2]
        initials = _initials(row.get("initials")) | {g[0] for g in given if g.isalpha()}
        for prefix_field, name_field in _FAMILY_FIELDS:
            family = _name_words(row.get(name_field) or "")
            if not family or not searched.isdisjoint(family) or not initials:
                continue
            for written in _written_forms(row.get(prefix_field), family):
                found.setdefault(written, set()).update(initials)
    return {written: frozenset(letters) for written, letters in found.items()}


_FAMILY_FIELDS = (("own_prefix", "own_name"), ("partner_prefix", "partner_name"))


def _common_family_mask(table: pa.Table, searched: frozenset[str]) -> pa.Array | None:
    """Rows whose own or partner family name is no token searched alone (None: no names).

    Each distinct name is split once (a million rows hold a few thousand names).
    """
    mask = None
    searched_array = pa.array(sorted(searched), pa.string())
    for name in ("own_name", "partner_name"):
        if name not in table.column_names:
            continue
        encoded = pc.dictionary_encode(_strings(table, name))
        lowered = pc.utf8_lower(encoded.dictionary)
        tokens = pc.split_pattern_regex(lowered, r"[^\p{L}\p{N}]+")
        hit = pc.is_in(pc.list_flatten(tokens), value_set=searched_array)
        searched_names = pc.unique(pc.filter(pc.list_parent_indices(tokens), hit))
        alone = np.zeros(len(lowered), dtype=bool)
        alone[searched_names.to_numpy(zero_copy_only=False)] = True
        has_name = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(lowered)), 0)
        common = pc.and_(has_name, pc.invert(pa.array(alone)))
        this = pc.fill_null(pc.take(common, encoded.indices), False)  # no name: no phrase
        mask = this if mask is None else pc.or_(mask, this)
    return mask


def _common_family_mask_reference(table: pa.Table, searched: frozenset[str]) -> pa.Array | None:
    """:func:`_common_family_mask` row by row: every row's names split (the reference)."""
    mask = None
    for name in ("own_name", "partner_name"):
        if name not in table.column_names:
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
        alone_rows = np.zeros(table.num_rows, dtype=bool)
        alone_rows[searched_rows.to_numpy(zero_copy_only=False)] = True
        this = pc.fill_null(pc.and_(has_name, pc.invert(pa.array(alone_rows))), False)
        mask = this if mask is None else pc.or_(mask, this)
    return mask


def common_family_rows(table: pa.Table, searched: frozenset[str]) -> list[dict[str, str | None]]:
    """Identity rows whose own or partner family name is no token searched alone.

    Only those need phrases; they are picked in Arrow (most family names are
    searched alone), then read as Python rows (for :func:`name_phrases`, the
    reference of :func:`table_name_phrases`).
    """
    fields = ("own_prefix", "own_name", "partner_prefix", "partner_name", "given_names", "initials")
    present = [f for f in fields if f in table.column_names]
    mask = _common_family_mask(table, searched)
    if mask is None:
        return []
    picked = table.select(present).filter(mask)
    rows: list[dict[str, str | None]] = picked.group_by(present).aggregate([]).to_pylist()
    return rows  # distinct: a patient has a row per record


def _given(value: str | None) -> list[str]:
    """The given names of a ``given_names`` value that lead a family name (two letters or more)."""
    return [g for g in _name_words(value or "") if len(g) >= 2]


def _family_leads(
    tables: Iterable[pa.Table], searched: frozenset[str]
) -> dict[tuple[str, str | None, str | None], tuple[set[str], set[str]]]:
    """Per family field and name as written (field, prefix, name): the given names and
    the leads (given names and initials) of the rows :func:`common_family_rows` picks.

    The distinct given names and initials per name are listed in Arrow; each
    distinct value is split once (memoised), not once per row.
    """
    found: dict[tuple[str, str | None, str | None], tuple[set[str], set[str]]] = {}
    for table in tables:
        mask = _common_family_mask(table, searched)
        if mask is None:
            continue
        fields = ("given_names", "initials", *(f for pair in _FAMILY_FIELDS for f in pair))
        picked = pa.table({f: _strings(table, f) for f in fields}).filter(mask)
        for prefix_field, name_field in _FAMILY_FIELDS:
            if name_field not in table.column_names:
                continue
            names = picked.group_by([prefix_field, name_field]).aggregate(
                [("given_names", "distinct"), ("initials", "distinct")]
            )
            for prefix, name, given_values, initial_values in zip(
                names.column(prefix_field).to_pylist(),
                names.column(name_field).to_pylist(),
                names.column("given_names_distinct").to_pylist(),
                names.column("initials_distinct").to_pylist(),
                strict=True,
            ):
                given, leads = found.setdefault((name_field, prefix, name), (set(), set()))
                for value in given_values:
                    names_given = _given(value)
                    given.update(names_given)
                    leads.update(names_given, (g[0] for g in names_given if g.isalpha()))
                for value in initial_values:
                    leads |= _initials(value)
    return found


def table_name_phrases(
    tables: Iterable[pa.Table], searched: frozenset[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`name_phrases` of the rows :func:`common_family_rows` picks, by family name.

    Why: a row's phrases are its leads (given names, initials) before its family
    name (with and without prefix) and its given names after it. Over all rows
    that is, per family name as written, the leads of all its rows: a hundred
    names instead of a hundred thousand distinct rows (two seconds at a million
    patients). The same phrases and titled names as :func:`name_phrases` (pinned
    by tests); a phrase two family names both give (``"x van der berg"`` from
    ``van der`` + ``berg`` and from ``van`` + ``der berg``) may keep the other's
    anchor, a token of the phrase either way.
    """
    found, titled, _ = _table_phrases(tables, searched)
    return found, titled


def _table_phrases(
    tables: Iterable[pa.Table], searched: frozenset[str]
) -> tuple[dict[str, str], dict[str, str], dict[str, frozenset[str]]]:
    """:func:`table_name_phrases` and, from the same leads, :attr:`Phrases.initialled`
    (the same as :func:`initialled_names_reference`, pinned by tests)."""
    found: dict[str, str] = {}
    titled: dict[str, str] = {}
    initialled: dict[str, set[str]] = {}
    for (_, prefix, name), (given, leads) in _family_leads(tables, searched).items():
        family = _name_words(name or "")
        if not family or not searched.isdisjoint(family):
            continue  # found alone already
        anchor = _longest(family)
        plain = " ".join(family)
        full = " ".join((*_name_words(prefix or ""), *family))
        if full != plain:
            found[full] = anchor
        for written in {full, plain}:
            titled[written] = anchor
            for lead in leads:
                found[f"{lead} {written}"] = anchor
            for given_name in given:
                found[f"{written} {given_name}"] = anchor
        initials = {lead for lead in leads if len(lead) == 1}
        if initials:
            for written in _written_forms(prefix, family):
                initialled.setdefault(written, set()).update(initials)
    return found, titled, {w: frozenset(letters) for w, letters in initialled.items()}


_ADDRESS = ("street", "house_number", "house_number_addition")


def _strings(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return table.column(name).combine_chunks().cast(pa.string())


def build(tables: Iterable[pa.Table], searched: frozenset[str]) -> Phrases:
    """The run's phrases, from its identity tables; ``searched``: the name tokens searched alone."""
    tables = list(tables)  # read twice: addresses and e-mails, then names
    streets: dict[str, str] = {}
    emails: dict[str, str] = {}
    for table in tables:
        if "street" in table.column_names and table.column("street").null_count < table.num_rows:
            address = pa.table({c: _strings(table, c) for c in _ADDRESS})
            address = address.filter(pc.is_valid(address.column("street")))
            address = address.group_by(list(_ADDRESS)).aggregate([])  # distinct addresses
            streets.update(street_phrases(*(_strings(address, c) for c in _ADDRESS)))
        if "email" in table.column_names:
            distinct = pc.unique(pc.drop_null(table.column("email"))).to_pylist()
            emails.update(email_phrases(distinct))
    names, titled, initialled = _table_phrases(tables, searched)
    # A name before its initials is found through its longest token: a titled name's anchor.
    anchors = {*streets.values(), *emails.values(), *names.values(), *titled.values()}
    by_kind = {STREET: frozenset(streets), EMAIL: frozenset(emails), NAME: frozenset(names)}
    return Phrases(
        {k: v for k, v in by_kind.items() if v},
        frozenset(anchors),
        frozenset(titled),
        initialled,
    )
