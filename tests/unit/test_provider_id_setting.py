"""``AANLEVERING_PROVIDER_ID`` is refused unless it can stand in keys and paths as it is.

The provider id starts every idempotency key (``<provider>.<registration>.<period>.v<n>``,
which receivers split at the dots), the SFTP inbox path and the staging folders. A dot,
a slash or ``..`` would make another key or a path outside the inbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.settings import load_settings


@pytest.mark.parametrize("provider", ["ziekenhuis-oost", "06010101", "hospital_b", "h", "Z" * 64])
def test_a_provider_id_of_letters_digits_and_dashes_is_taken(tmp_path: Path, provider: str) -> None:
    settings = load_settings(
        {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_PROVIDER_ID": provider}
    )
    assert settings.provider_id == provider


@pytest.mark.parametrize(
    "provider",
    ["", "a.b", "../inbox", "a/b", "with space", "-leading", "Z" * 65, "ziekenhuis\n"],
)
def test_any_other_provider_id_is_a_config_error_naming_the_setting(
    tmp_path: Path, provider: str
) -> None:
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_PROVIDER_ID": provider}
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_ID must be 1-64 letters"):
        load_settings(env)


def test_the_default_provider_id_is_the_demo_hospital_in_demo_mode_only(tmp_path: Path) -> None:
    demo = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_DEMO_MODE": "yes"}
    assert load_settings(demo).provider_id == "demo-hospital"
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_ID is not set"):
        _ = load_settings({"AANLEVERING_HOME": str(tmp_path)}).provider_id  # decision 0711
