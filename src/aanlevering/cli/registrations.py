"""``aanlevering registrations list | show | check | new``: inspect and extend the catalogue.

``check`` reports everything that can be found without data: the schema and
cross-reference problems of the catalogue loader, and the mapping checks of
:mod:`aanlevering.onboard.mapping_check` (FHIR paths against the element
model, links, maps, CSV targets, unresolved ``# TODO`` markers).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.catalogue.loader import (
    CatalogueInvalid,
    CatalogueProblem,
    load_registration,
    load_registrations,
)
from aanlevering.errors import ConfigError
from aanlevering.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``registrations`` command group."""
    parser = subparsers.add_parser("registrations", help="list, show and check registrations")
    parser.add_argument("--catalogue", help="catalogue folder (default: $AANLEVERING_CATALOGUE)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="one registration per line, its id first").set_defaults(
        handler=_list
    )
    show = actions.add_parser("show", help="print one registration's config as JSON")
    show.add_argument("registration_id", metavar="ID")
    show.set_defaults(handler=_show)
    check = actions.add_parser(
        "check", help="validate every config (or one); non-zero exit on problems"
    )
    check.add_argument("registration_id", metavar="ID", nargs="?", help="only this registration")
    check.add_argument(
        "--sample",
        type=Path,
        metavar="PATH",
        help=(
            "also read this sample export (CSV folder or FHIR export) with ID's mapping and "
            "print per variable how well it fits (counts only); exit 1 when it does not fit"
        ),
    )
    check.set_defaults(handler=_check)
    _add_new(actions)


def _add_new(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    new = actions.add_parser(
        "new",
        help="write a registration config proposed from a dictionary and a sample export",
        description=(
            "Match a sample export's columns (a CSV file or folder) or elements (a FHIR "
            "export) to the dictionary's variables and identity fields, and write a "
            "registration YAML. Everything uncertain is marked '# TODO', and "
            "`registrations check` fails until each is decided. See docs/new-registration.md."
        ),
    )
    new.add_argument("--dictionary", required=True, metavar="ID", help="dictionary id")
    new.add_argument("--version", help="dictionary version (default: the newest)")
    new.add_argument("--id", required=True, dest="new_id", metavar="NEW", help="registration id")
    new.add_argument("--sample", required=True, type=Path, metavar="PATH", help="sample export")
    new.add_argument("--out", required=True, type=Path, metavar="FILE", help="YAML to write")
    new.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    from aanlevering.catalogue.loader import load_dictionary
    from aanlevering.onboard.scaffold import scaffold

    if not re.match(r"^[a-z][a-z0-9-]*$", args.new_id):
        raise ConfigError(
            f"registration id {args.new_id!r}: use lower-case letters, digits and '-' "
            "(it becomes the file name and the DAG id)"
        )
    if args.out.exists() and not args.force:
        raise ConfigError(f"{args.out} exists; choose another --out or add --force")
    dictionary = load_dictionary(_catalogue_dir(args), args.dictionary, args.version)
    result = scaffold(dictionary, args.new_id, args.sample)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(result.text, encoding="utf-8")
    print(f"wrote {args.out}: {result.todos} decision(s) marked TODO")
    print(
        f"next: decide each TODO, put the file in <catalogue>/registrations/{args.new_id}.yaml, "
        f"then `aanlevering registrations check {args.new_id} --sample {args.sample}`"
    )
    return 0


def _catalogue_dir(args: argparse.Namespace) -> str:
    return str(args.catalogue or load_settings().catalogue_dir)


def _list(args: argparse.Namespace) -> int:
    for config in load_catalogue(_catalogue_dir(args)):
        print(
            f"{config.id}\t{config.frequency}\t{config.delivery.format}\t"
            f"{config.delivery.channel}\t{','.join(config.pseudonymisation.types)}\t"
            f"{config.dictionary.id} {config.dictionary.version}\t{config.name}"
        )
    return 0


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, date):
        return value.isoformat()
    return value


def describe(config: RegistrationConfig) -> dict[str, Any]:
    """A JSON-ready view of a registration, dictionary summarised to keep it readable."""
    data = _plain(config)
    data["dictionary"] = {
        "id": config.dictionary.id,
        "version": config.dictionary.version,
        "name": config.dictionary.name,
        "datasets": {
            d.name: {"key": list(d.key), "variables": list(d.variable_names)}
            for d in config.dictionary.datasets
        },
    }
    return dict(data)


def _show(args: argparse.Namespace) -> int:
    # Its own registration only: another's broken file does not stop it (0421, 0679).
    config = load_registration(_catalogue_dir(args), args.registration_id)
    print(json.dumps(describe(config), indent=2, ensure_ascii=False))
    return 0


def _check(args: argparse.Namespace) -> int:
    from aanlevering.onboard.mapping_check import mapping_problems

    root = _catalogue_dir(args)
    registrations, problems = load_registrations(root)
    wanted = args.registration_id
    if wanted is not None:
        dictionary_file = _dictionary_file(Path(root), wanted)
        problems = [
            p
            for p in problems
            if _file_id(p) == wanted or Path(p.file).resolve() == dictionary_file
        ]
        if wanted not in registrations and not problems:
            known = ", ".join(sorted(registrations)) or "none"
            raise ConfigError(f"unknown registration {wanted!r} in {root} (known: {known})")
        registrations = {k: v for k, v in registrations.items() if k == wanted}
    for config in registrations.values():
        problems.extend(
            CatalogueProblem(config.source_file, path, message)
            for path, message in mapping_problems(config)
        )
    if problems:
        raise CatalogueInvalid(problems)
    print(f"ok: {len(registrations)} registration(s) valid in {root}")
    from aanlevering.catalogue.followable import optional_key_warnings

    for config in registrations.values():
        for warning in optional_key_warnings(config):
            print(f"warning: {warning}")
    if args.sample is None:
        return 0
    if wanted is None:
        raise ConfigError(
            "--sample needs the registration to check: registrations check ID --sample PATH"
        )
    from aanlevering.onboard.sample_check import check_sample, render

    fit = check_sample(registrations[wanted], args.sample)
    print(render(fit))
    return 0 if fit.fits else 1


def _file_id(problem: CatalogueProblem) -> str:
    return Path(problem.file).stem


def _dictionary_file(root: Path, registration_id: str) -> Path | None:
    """The dictionary file a registration names, so its problems are the registration's too.

    Why: a check of one registration that hid its dictionary's problems said only
    "has problems (listed for its file)", and listed none. Read leniently: a
    registration file that does not read has its own problem already.
    """
    import yaml

    from aanlevering import yaml_input

    try:
        raw = yaml_input.strict_load(
            yaml_input.read_hand_written(root / "registrations" / f"{registration_id}.yaml")
        )
        dictionary = raw["dictionary"]
        name, version = str(dictionary["id"]), str(dictionary["version"])
    except (OSError, ValueError, yaml.YAMLError, RecursionError, KeyError, TypeError):
        return None  # the loader reports a file that does not read as its own problem
    if not name or not version or "/" in name + version or ".." in name + version:
        return None
    return (root / "dictionaries" / name / f"{version}.yaml").resolve()
