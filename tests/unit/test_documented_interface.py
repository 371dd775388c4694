"""What README.md and docs/*.md show a hospital engineer exists in the code, and the reverse.

A data engineer new to the product has only these pages: every command,
option, environment variable, config key and make target they show must
exist, and every environment variable the code reads must be named in them
(a setting nobody can find is one nobody can set on purpose). The design
records in docs/decisions/ are history, not instructions, and are left out.
Each check collects every mismatch at once, with the page it came from.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aanlevering.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
GUIDES = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))

VARIABLE = re.compile(r"(?<![A-Z0-9_])AANLEVERING_[A-Z0-9_]*")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`([^`]+)`")

#: Named in the guides, on purpose not read by this product under that name.
NOT_SETTINGS = {
    # docs/extract.md: an example name for `fhir-export --token-env NAME`, chosen by the user.
    "AANLEVERING_FHIR_TOKEN",
}


def _guide_texts() -> Iterator[tuple[str, str]]:
    for guide in GUIDES:
        yield guide.relative_to(REPO).as_posix(), guide.read_text(encoding="utf-8")


def _code_texts() -> Iterator[tuple[Path, str]]:
    """Files whose text reads settings: package, DAGs, plugins, scripts, compose, configs."""
    files = [
        *(REPO / "src").rglob("*.py"),
        *(REPO / "dags").rglob("*.py"),
        *(REPO / "plugins").rglob("*.py"),
        *(REPO / "scripts").glob("*.sh"),
        REPO / "Makefile",
        REPO / "docker-compose.yml",
        *(REPO / "deploy").rglob("*.sh"),
        *(REPO / "deploy").rglob("*.example"),
        *(REPO / "schemas" / "catalogue").rglob("*.yaml"),
        *(REPO / "tests" / "support").rglob("*.py"),
    ]
    for file in files:
        yield file, file.read_text(encoding="utf-8")


def _read_by_code() -> tuple[set[str], set[str]]:
    """Names the code reads, and the prefixes it composes names from.

    Python names a setting as a string literal (``"AANLEVERING_HOME"``; a literal
    ending in ``_`` or ``__`` is a prefix, such as ``AANLEVERING_INPUT__`` + id);
    shell scripts and configs as ``${AANLEVERING_X``. ``ClientTLS.from_env(PREFIX)``
    composes ``PREFIX_<suffix>`` from the suffixes ``tls.py`` writes as
    ``f"{prefix}_<SUFFIX>"``.
    """
    names: set[str] = set()
    prefixes: set[str] = set()
    tls = (REPO / "src" / "aanlevering" / "tls.py").read_text(encoding="utf-8")
    suffixes = set(re.findall(r"\{prefix\}_([A-Z_]+)", tls))
    suffixes |= set(re.findall(r'path\("([A-Z_]+)"\)', tls))
    assert suffixes, "tls.py no longer composes <prefix>_<SUFFIX>: update this test"
    for file, text in _code_texts():
        if file.suffix == ".py":
            found = set(re.findall(r"[\"'](AANLEVERING_[A-Z0-9_]*)[\"'{]", text))
            for prefix in re.findall(r"from_env\(\s*\"(AANLEVERING_[A-Z0-9_]+)\"", text):
                found.discard(prefix)
                names.update(f"{prefix}_{suffix}" for suffix in suffixes)
        else:
            found = set(re.findall(r"\$\{(AANLEVERING_[A-Z0-9_]+)", text))
        for name in found:
            (prefixes if name.endswith("_") else names).add(name)
    return names, prefixes


def _documented() -> dict[str, str]:
    """Every ``AANLEVERING_*`` name the guides show, with the first page showing it."""
    named: dict[str, str] = {}
    for page, text in _guide_texts():
        for name in VARIABLE.findall(text):
            named.setdefault(name, page)
    return named


def test_every_variable_the_guides_name_is_read_by_the_code() -> None:
    names, prefixes = _read_by_code()
    documented = _documented()
    unread = sorted(
        f"{page}: {name}"
        for name, page in documented.items()
        if name not in NOT_SETTINGS
        and name != "AANLEVERING_"  # "AANLEVERING_*" in prose: all of them
        and name not in names
        and not any(name.startswith(prefix) for prefix in prefixes)
        # a family the guides write as "AANLEVERING_TTP_*"
        and not (name.endswith("_") and any(known.startswith(name) for known in names))
    )
    assert unread == []


def test_every_variable_the_code_reads_is_named_in_the_guides() -> None:
    names, prefixes = _read_by_code()
    documented = set(_documented()) - {"AANLEVERING_"}
    families = {name for name in documented if name.endswith("__")}
    unnamed = sorted(
        name
        for name in names | prefixes
        if name not in documented and not any(name.startswith(f) for f in families)
    )
    assert unnamed == []


def _snippets() -> Iterator[tuple[str, str]]:
    """Code the guides show: fenced blocks line by line (continuations joined), inline spans."""
    for page, text in _guide_texts():
        for block in FENCE.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                yield page, line.split(" #", 1)[0]
        for span in SPAN.findall(FENCE.sub("", text)):
            yield page, " ".join(span.split())


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


COMMAND = re.compile(r"(?:^|[\s/$(])aanlevering((?:\s+[-a-z0-9.<>A-Z\[\]|:_/=,'\"]+)*)")


def _command_problems(page: str, snippet: str, root: argparse.ArgumentParser) -> list[str]:
    problems = []
    for match in COMMAND.finditer(snippet):
        words = match.group(1).split()
        parser, path, allowed = root, ["aanlevering"], _options(root)
        rest = words
        for index, word in enumerate(words):
            choices = _subcommands(parser)
            if not choices or not re.fullmatch(r"[a-z][a-z0-9-]*", word):
                rest = words[index:]
                break
            if word not in choices:
                problems.append(f"{page}: `{snippet}`: no command {' '.join([*path, word])!r}")
                rest = []
                break
            parser = choices[word]
            path.append(word)
            allowed |= _options(parser)
            rest = words[index + 1 :]
        for word in rest:
            flag = re.match(r"\[?(--[a-z][a-z0-9-]*)", word)
            if flag and flag.group(1) not in allowed:
                problems.append(f"{page}: `{snippet}`: {' '.join(path)} has no {flag.group(1)}")
    return problems


def test_every_command_and_option_the_guides_show_exists() -> None:
    root = build_parser()
    shown = 0
    problems: list[str] = []
    for page, snippet in _snippets():
        shown += len(COMMAND.findall(snippet))
        problems.extend(_command_problems(page, snippet, root))
    assert shown > 50  # the reader still finds the commands
    assert problems == []


def test_the_command_check_catches_a_wrong_command_and_option() -> None:
    root = build_parser()
    assert _command_problems("x.md", "aanlevering registrations chek dsaa", root) == [
        "x.md: `aanlevering registrations chek dsaa`: no command 'aanlevering registrations chek'"
    ]
    assert _command_problems("x.md", "aanlevering run --registration X --inpt P", root) == [
        "x.md: `aanlevering run --registration X --inpt P`: aanlevering run has no --inpt"
    ]
    assert _command_problems("x.md", "aanlevering status [--format html]", root) == []


def test_every_make_target_the_guides_show_exists() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    missing = sorted(
        f"{page}: make {target}"
        for page, snippet in _snippets()
        for target in re.findall(r"(?:^|\s)make ([a-z][a-z0-9-]*)", snippet)
        if target not in targets
    )
    assert missing == []


KEY = re.compile(
    r"`((?:delivery|source|validation|pseudonymisation|registry_holder|dictionary)"
    r"(?:\.[a-z_*<>]+)+)"
)


def _schema_has(schema: dict[str, Any], node: dict[str, Any], parts: list[str]) -> bool:
    """Whether the dotted path (``<d>`` or ``*`` for any name) is a key of the schema."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if not parts:
        return True
    head, tail = parts[0], parts[1:]
    if head.startswith("<") or head == "*":
        deeper = node.get("additionalProperties")
        return isinstance(deeper, dict) and _schema_has(schema, deeper, tail)
    properties = node.get("properties", {})
    if head in properties:
        return _schema_has(schema, properties[head], tail)
    return any(
        _schema_has(schema, option, parts)
        for key in ("oneOf", "anyOf", "allOf")
        for option in node.get(key, [])
    )


def test_every_registration_key_the_guides_name_is_in_the_schema() -> None:
    schema = json.loads((REPO / "schemas" / "registration.schema.json").read_text("utf-8"))
    named = [(page, key.rstrip(".")) for page, text in _guide_texts() for key in KEY.findall(text)]
    assert len(named) > 10
    unknown = sorted(
        f"{page}: {key}" for page, key in named if not _schema_has(schema, schema, key.split("."))
    )
    assert unknown == []


@pytest.mark.parametrize("key", ["delivery.chanel", "source.csv.datasets.<d>.colums"])
def test_the_key_check_catches_a_misspelt_key(key: str) -> None:
    schema = json.loads((REPO / "schemas" / "registration.schema.json").read_text("utf-8"))
    assert not _schema_has(schema, schema, key.split("."))


#: A row of validation.md's accounting table: field(s), which report carries them.
ACCOUNTING_ROW = re.compile(
    r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \| (hospital|registry holder|both) \|"
)


def test_the_accounting_fields_explained_are_the_ones_the_reports_carry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aanlevering.deliver.accounting import Accounting
    from aanlevering.validate import report as reports

    text = (REPO / "docs" / "validation.md").read_text(encoding="utf-8")
    explained: dict[str, set[str]] = {"hospital": set(), "registry holder": set()}
    for line in text.splitlines():
        row = ACCOUNTING_ROW.match(line)
        if row:
            for where in ("hospital", "registry holder"):
                if row.group(3) in (where, "both"):
                    explained[where].update(f for f in row.group(1, 2) if f)
    hospital = set(Accounting().as_summary())  # hospital-report.json's section
    (tmp_path / "validation-report.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(reports, "render_html", lambda report: "")  # the JSON is what counts
    assert reports.add_accounting(tmp_path, Accounting().as_summary())
    report = json.loads((tmp_path / "validation-report.json").read_text(encoding="utf-8"))
    assert explained == {"hospital": hospital, "registry holder": set(report["accounting"])}
