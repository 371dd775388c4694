"""Key rotation on a running TTP: transition keeps old pseudonyms usable, retirement ends it."""

from __future__ import annotations

import subprocess

import pytest

from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from support.servers import PYTHON
from support.ttp import Hospital, TTPSetup, digest


def ttp_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "aanlevering.cli.main", "ttp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def without_mrn(labels):
    return {t: v for t, v in labels.items() if t != "MRN"}


def test_rotation_transition_and_retirement(fresh_ttp: TTPSetup, hospital_a: Hospital) -> None:
    ttp = fresh_ttp
    person = PseudonymInputs(
        "p",
        {"NGG": digest("NGG|rotated"), "C": digest("C|rotated")},
        hospital_a.mrn_ciphertext("M1"),
    )
    ttp.start()
    old = ttp.client("demo-hospital").temporary_pseudonyms(
        "ldtr", [person], run_id="before", profile_version="nl-2026.1"
    )
    old_definitive = ttp.client("lnaz").exchange(
        "ldtr", [RecordPseudonyms("p", without_mrn(old.pseudonyms["p"]))], run_id="before-x"
    )
    ttp.stop()

    rotated = ttp_cli("rotate", "--config", str(ttp.config), "--registration", "ldtr")
    assert rotated.returncode == 0, rotated.stderr
    assert "key version 2 is active" in rotated.stdout
    ttp.start()

    new = ttp.client("demo-hospital").temporary_pseudonyms(
        "ldtr", [person], run_id="after", profile_version="nl-2026.1"
    )
    assert new.key_versions == {2}
    assert new.pseudonyms["p"]["NGG"].startswith("T1:NGG:v2:")
    assert new.pseudonyms["p"]["MRN"].startswith("MRN:v2:")

    holder = ttp.client("lnaz")
    # Transition: v1 temporaries still exchange, to v1 by default ...
    still_v1 = holder.exchange(
        "ldtr", [RecordPseudonyms("p", without_mrn(old.pseudonyms["p"]))], run_id="transition-1"
    )
    assert still_v1.pseudonyms == old_definitive.pseudonyms
    assert still_v1.key_versions == {1}
    # ... or straight to v2, linking the old delivery to the new one.
    to_v2 = holder.exchange(
        "ldtr",
        [RecordPseudonyms("p", without_mrn(old.pseudonyms["p"]))],
        run_id="transition-2",
        target_version=2,
    )
    new_definitive = holder.exchange(
        "ldtr", [RecordPseudonyms("p", without_mrn(new.pseudonyms["p"]))], run_id="after-x"
    )
    assert to_v2.pseudonyms == new_definitive.pseudonyms
    assert new_definitive.pseudonyms["p"]["NGG"].startswith("NGG:v2:")
    assert new_definitive.pseudonyms["p"]["NGG"] != old_definitive.pseudonyms["p"]["NGG"]
    # MRN pseudonyms of the transition version stay reversible.
    back = ttp.client("demo-hospital").reverse_mrn("ldtr", [old.pseudonyms["p"]["MRN"]])
    assert hospital_a.decrypt(back[0]) == "M1"
    ttp.stop()

    refused = ttp_cli(
        "retire", "--config", str(ttp.config), "--registration", "ldtr", "--version", "2"
    )
    assert refused.returncode == 2 and "rotate first" in refused.stderr
    retired = ttp_cli(
        "retire", "--config", str(ttp.config), "--registration", "ldtr", "--version", "1"
    )
    assert retired.returncode == 0, retired.stderr
    ttp.start()

    with pytest.raises(TTPRefused) as gone:
        ttp.client("lnaz").exchange(
            "ldtr", [RecordPseudonyms("p", without_mrn(old.pseudonyms["p"]))], run_id="retired-x"
        )
    assert (gone.value.status, gone.value.code) == (422, "retired_key_version")
    assert "key version 1" in str(gone.value)
    with pytest.raises(TTPRefused) as mrn_gone:
        ttp.client("demo-hospital").reverse_mrn("ldtr", [old.pseudonyms["p"]["MRN"]])
    assert mrn_gone.value.code == "retired_key_version"
    # The current version keeps working.
    current = ttp.client("lnaz").exchange(
        "ldtr", [RecordPseudonyms("p", without_mrn(new.pseudonyms["p"]))], run_id="retired-ok"
    )
    assert current.pseudonyms == new_definitive.pseudonyms


def _serve_fails(ttp: TTPSetup) -> subprocess.CompletedProcess[str]:
    """``ttp serve`` on a config it must refuse: it exits before listening (else: killed)."""
    command = [PYTHON, "-m", "aanlevering.cli.main", "ttp", "serve", "--config", str(ttp.config)]
    try:
        return subprocess.run(
            [*command, "--port", "0"], capture_output=True, text=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 0, "", "still serving after 20 s")


def test_a_restored_config_cannot_roll_a_key_version_back(fresh_ttp: TTPSetup) -> None:
    """A config from before a rotation or retirement does not start the TTP (decision 1028)."""
    ttp = fresh_ttp
    ttp.start()
    ttp.stop()
    before_rotation = ttp.config.read_bytes()
    assert ttp_cli("rotate", "--config", str(ttp.config), "--registration", "ldtr").returncode == 0
    ttp.start()  # v2 active: seen
    ttp.stop()
    rotated = ttp.config.read_bytes()

    ttp.config.write_bytes(before_rotation)  # the backup: v1 active, no v2
    refused = _serve_fails(ttp)
    assert refused.returncode != 0
    assert "'ldtr' rolls its keys back" in refused.stderr and "no key version 2" in refused.stderr

    ttp.config.write_bytes(rotated)
    retire = ("retire", "--config", str(ttp.config), "--registration", "ldtr", "--version", "1")
    assert ttp_cli(*retire).returncode == 0
    ttp.start()  # v1 retired: seen
    ttp.stop()
    ttp.config.write_bytes(rotated)  # v1 back in transition
    reopened = _serve_fails(ttp)
    assert reopened.returncode != 0
    assert "version 1 is transition, but this TTP had retired it" in reopened.stderr

    (ttp.folder / "key-versions.json").unlink()  # an operator's deliberate roll back
    ttp.start()
