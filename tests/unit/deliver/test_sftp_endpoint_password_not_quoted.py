"""An SFTP endpoint URL with a password is refused without quoting the password.

The endpoint can come from an environment value (``AANLEVERING_ENDPOINT__*``)
that the catalogue check never sees; the channel logs in with its key only, so
a password there is a mistake, and an error message goes to logs and Airflow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.deliver.channels.sftp import SftpTarget
from aanlevering.errors import ConfigError

SECRET = "Hunter2-secret"


@pytest.mark.parametrize(
    "url",
    [
        f"sftp://:{SECRET}@holder.example:22/inbox",  # no user: the shape error
        f"sftp://hospital:{SECRET}@holder.example:22/inbox",  # a password: refused
        f"ftp://hospital:{SECRET}@holder.example/inbox",  # another scheme
    ],
)
def test_the_password_is_never_in_the_message(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        SftpTarget.from_url(url, tmp_path / "key", tmp_path / "known_hosts")
    assert SECRET not in str(refused.value)
    assert "holder.example" in str(refused.value)


def test_a_url_without_password_still_parses(tmp_path: Path) -> None:
    target = SftpTarget.from_url(
        "sftp://hospital@holder.example:2222/inbox", tmp_path / "key", tmp_path / "known_hosts"
    )
    assert (target.username, target.host, target.port, target.path) == (
        "hospital",
        "holder.example",
        2222,
        "/inbox",
    )
