"""A real reference TTP (and a real receiving registry holder) for the TTP integration tests.

One TTP process serves the whole session (fault injection enabled for the
retry tests); rotation tests start their own. Both are started with the
command a deployment uses, ``aanlevering ttp serve`` (run as
``python -m aanlevering.cli.main``), on a free 127.0.0.1 port.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support.servers import PYTHON, ServerProcess, running_server
from support.ttp import Hospital, TTPSetup, make_setup, use_receiver_key

RECEIVER = Path(__file__).with_name("receiver.py")


@pytest.fixture(scope="session")
def ttp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ttp")


@pytest.fixture(scope="session")
def receiver_key(ttp_root: Path) -> Path:
    path = ttp_root / "receiver.key"
    path.write_text(secrets.token_urlsafe(32))
    return path


@pytest.fixture(scope="session")
def receiver(ttp_root: Path, receiver_key: Path) -> Iterator[ServerProcess]:
    """The registry holders' receiving endpoint (one process for all registrations)."""
    folder = ttp_root / "received"
    with running_server(
        [
            *(PYTHON, str(RECEIVER), "--dir", str(folder), "--port", "{port}"),
            *("--api-key-file", str(receiver_key)),
        ],
        log_path=ttp_root / "receiver.log",
    ) as server:
        yield server


@pytest.fixture(scope="session")
def ttp(ttp_root: Path, receiver: ServerProcess, receiver_key: Path) -> Iterator[TTPSetup]:
    """The session's TTP, running."""
    setup = make_setup(ttp_root / "ttp", receiver.url)
    use_receiver_key(setup, receiver_key)
    setup.start()
    yield setup
    setup.stop()


@pytest.fixture
def fresh_ttp(tmp_path: Path, receiver: ServerProcess, receiver_key: Path) -> Iterator[TTPSetup]:
    """A TTP of its own (not started), for tests that change config and restart."""
    setup = make_setup(tmp_path / "ttp", receiver.url)
    use_receiver_key(setup, receiver_key)
    yield setup
    setup.stop()


@pytest.fixture
def faults(ttp: TTPSetup) -> Iterator[Callable[..., None]]:
    """Arm the session TTP's fault injection; disarmed again after the test."""

    def arm(count: int, mode: str = "error", **options: Any) -> None:
        response = requests.post(
            ttp.url + "/admin/faults",
            json={"count": count, "mode": mode, **options},
            headers=ttp.headers("ttp-admin"),
            timeout=5,
        )
        assert response.status_code == 200, response.text

    yield arm
    arm(0)


@pytest.fixture(scope="session")
def hospital_a() -> Hospital:
    return Hospital(secrets.token_bytes(64))


@pytest.fixture(scope="session")
def hospital_b() -> Hospital:
    return Hospital(secrets.token_bytes(64))
