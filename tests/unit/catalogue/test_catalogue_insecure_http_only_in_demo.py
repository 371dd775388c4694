"""``allow_insecure_http: true`` lets http:// to a remote host through in demo mode only (1082).

Before, one line in a registration config (or ``AANLEVERING_TTP_ALLOW_INSECURE_HTTP=yes``
in the environment) sent pseudonymised records, or the identity fields the TTP
needs, over plain http to any host in production, with no word at ``registrations
check`` or at run start; "never in production" was a schema description.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue.loader import CatalogueInvalid, load_registration
from aanlevering.errors import ConfigError
from aanlevering.tls import ClientTLS

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
CHECK = [sys.executable, "-m", "aanlevering.cli.main", "registrations"]
ENDPOINT = "http://registry.example/registrations/dica-dsaa/deliveries"


@pytest.fixture
def insecure_catalogue(tmp_path: Path) -> Path:
    """The example catalogue with dica-dsaa delivering over http with the switch on."""
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    file = target / "registrations" / "dica-dsaa.yaml"
    data: dict[str, Any] = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["delivery"].update(endpoint=ENDPOINT, allow_insecure_http=True)
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def test_outside_demo_mode_the_registration_does_not_load(
    insecure_catalogue: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_DEMO_MODE", "no")
    with pytest.raises(CatalogueInvalid) as caught:
        load_registration(insecure_catalogue, "dica-dsaa")
    [problem] = caught.value.problems
    assert problem.path == "$.delivery.endpoint"
    assert problem.file.endswith("dica-dsaa.yaml")
    assert problem.message == (
        "plain http:// to a non-loopback host is refused; use https:// "
        "(allow_insecure_http: true counts only in demo mode, AANLEVERING_DEMO_MODE=yes; "
        "decision 1082)"
    )


def test_in_demo_mode_it_still_loads(
    insecure_catalogue: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_DEMO_MODE", "yes")
    assert load_registration(insecure_catalogue, "dica-dsaa").delivery.allow_insecure_http


def test_registrations_check_exits_2_outside_demo_mode(insecure_catalogue: Path) -> None:
    env = {**os.environ, "AANLEVERING_DEMO_MODE": "no"}
    result = subprocess.run(
        [*CHECK, "--catalogue", str(insecure_catalogue), "check"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert "dica-dsaa.yaml: $.delivery.endpoint: plain http:// to a non-loopback host" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "tls",
    [
        ClientTLS(allow_insecure_http=True),
        ClientTLS.from_env("AANLEVERING_TTP", {"AANLEVERING_TTP_ALLOW_INSECURE_HTTP": "yes"}),
    ],
)
def test_clients_refuse_it_outside_demo_mode(
    tls: ClientTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TTP client and the https channel check their URL with this before sending."""
    monkeypatch.setenv("AANLEVERING_DEMO_MODE", "no")
    with pytest.raises(ConfigError, match=r"refused outside demo mode, allow_insecure_http"):
        tls.check_url("http://ttp.example/api", "TTP")
    tls.check_url("http://127.0.0.1:8765/api", "TTP")  # loopback stays allowed
    monkeypatch.setenv("AANLEVERING_DEMO_MODE", "yes")
    tls.check_url("http://ttp.example/api", "TTP")
