"""Client checks that happen before (or instead of) any call to the TTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from aanlevering.errors import ConfigError, TTPError
from aanlevering.pseudonym.ttp.client import TTPClient, load_api_key
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from aanlevering.pseudonym.ttp.guards import check_bsn_allowed
from aanlevering.pseudonym.ttp.models import PseudonymInputs


class NoNetworkSession(requests.Session):
    """A session that fails the test if the client ever sends a request."""

    def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        raise AssertionError("the client called the TTP")


def no_network_client(url: str, key: str) -> TTPClient:
    """A client whose transport fails the test if it is ever used."""
    return TTPClient(url, key, session=NoNetworkSession())


def test_b_without_justification_stops_before_any_call() -> None:
    client = no_network_client("http://127.0.0.1:9", "key")
    with pytest.raises(TTPError, match="justification") as error:
        client.temporary_pseudonyms(
            "some-registration",
            [PseudonymInputs("p", {"B": "0" * 64})],
            run_id="r",
            profile_version="nl-2026.1",
        )
    assert not isinstance(error.value, TTPRefused | TTPUnavailable)
    assert "some-registration" in str(error.value)


def test_bsn_check_passes_other_types_and_justified_b() -> None:
    check_bsn_allowed("reg", ["NGGV", "MRN"], None)
    check_bsn_allowed("reg", ["B"], "approval allows B")
    with pytest.raises(TTPError):
        check_bsn_allowed("reg", ["B"], "   ")


def test_duplicate_refs_and_bad_run_ids_stop_before_any_call() -> None:
    client = no_network_client("http://127.0.0.1:9", "key")
    with pytest.raises(TTPError, match="unique"):
        client.temporary_pseudonyms(
            "reg",
            [PseudonymInputs("p", {"C": "0" * 64}), PseudonymInputs("p", {"C": "1" * 64})],
            run_id="r",
            profile_version="nl-2026.1",
        )
    with pytest.raises(TTPError, match="run id"):
        client.temporary_pseudonyms(
            "reg",
            [PseudonymInputs("p", {"C": "0" * 64})],
            run_id="has spaces",
            profile_version="nl-2026.1",
        )


def test_inputs_repr_hides_values() -> None:
    inputs = PseudonymInputs("p", {"NGGV": "a" * 64}, "secret-ciphertext")
    assert "a" * 64 not in repr(inputs) and "secret" not in repr(inputs)
    assert inputs.types == {"NGGV", "MRN"}


def test_api_key_from_env_or_file(tmp_path: Path) -> None:
    assert load_api_key({"AANLEVERING_TTP_API_KEY": " k1 \n"}) == "k1"
    key_file = tmp_path / "key"
    key_file.write_text("k2\n")
    key_file.chmod(0o600)  # key files must be owner-only, whatever the umask
    assert load_api_key({"AANLEVERING_TTP_API_KEY_FILE": str(key_file)}) == "k2"
    with pytest.raises(ConfigError, match="AANLEVERING_TTP_API_KEY"):
        load_api_key({})
    with pytest.raises(ConfigError, match="cannot read"):
        load_api_key({"AANLEVERING_TTP_API_KEY_FILE": str(tmp_path / "missing")})
    client = TTPClient.from_env({"AANLEVERING_TTP_API_KEY": "secret-key-123"})
    assert client.base_url == "http://127.0.0.1:8765"
    assert "secret-key-123" not in repr(client)
