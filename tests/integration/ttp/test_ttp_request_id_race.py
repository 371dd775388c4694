"""Two requests under one request id at once: the second waits for the first (decision 1052).

Against the real TTP process over HTTP, two threads post local uploads with
one request id while the first is still being computed (its forwarding is
held up by a failed commit and a two-second backoff). With another body, one
is served and the other refused with 409 ``request_id_reused``, and only one
delivery is forwarded; with the same body, both get the same answer byte for
byte, computed and forwarded once. Both used to be computed and answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from support.servers import ServerProcess
from support.ttp import TTPSetup, digest
from support.ttp_uploads import one_file_manifest, post_upload

NAME = "tumor.ndjson"
#: How long the first request's forwarding waits after its failed commit.
BACKOFF = 2.0


@pytest.fixture
def slow_forwarding_ttp(fresh_ttp: TTPSetup, receiver: ServerProcess) -> Iterator[TTPSetup]:
    """A TTP whose first forward of a delivery fails once and is retried after BACKOFF."""
    document = read_config_document(fresh_ttp.config)
    document["forwarding"] = {"max_attempts": 3, "backoff_seconds": BACKOFF, "timeout_seconds": 5}
    write_config_document(fresh_ttp.config, document)
    fresh_ttp.start()
    yield fresh_ttp
    requests.post(receiver.url + "/_fail", json={"commits": 0}, timeout=5)


def _data(seed: str) -> bytes:
    line = {"tumor_id": "T0", "pseudonym_inputs": {"NGGV": digest(f"race|{seed}")}}
    return (json.dumps(line) + "\n").encode()


def _fail_next_commit(receiver: ServerProcess) -> int:
    requests.post(receiver.url + "/_fail", json={"commits": 1}, timeout=5).raise_for_status()
    return int(requests.get(receiver.url + "/_stats", timeout=5).json()["commit_calls"])


def _at_once(
    ttp: TTPSetup, request_id: str, bodies: list[tuple[bytes, str]]
) -> list[requests.Response]:
    """Post each (data, manifest key) under ``request_id``, the second while the first runs."""
    # A manifest records when it was made: the same body is the same manifest text.
    manifests = {key: one_file_manifest(NAME, data, key) for data, key in bodies}

    def post(body: tuple[bytes, str]) -> requests.Response:
        data, key = body
        return post_upload(ttp, NAME, data, request_id, manifests[key])

    with ThreadPoolExecutor(len(bodies)) as pool:
        first = pool.submit(post, bodies[0])
        time.sleep(BACKOFF / 4)  # the first is forwarding (or waiting to retry) by now
        rest = [pool.submit(post, body) for body in bodies[1:]]
        return [first.result(), *(future.result() for future in rest)]


def test_a_second_body_under_a_running_request_id_is_refused(
    slow_forwarding_ttp: TTPSetup, receiver: ServerProcess
) -> None:
    _fail_next_commit(receiver)
    bodies = [(_data("a"), "race-a"), (_data("b"), "race-b")]

    answers = _at_once(slow_forwarding_ttp, "race-1", bodies)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 409], [answer.text for answer in answers]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["detail"]["code"] == "request_id_reused"
    for data, _ in bodies:
        assert json.loads(data)["pseudonym_inputs"]["NGGV"] not in refused.text
    served = next(answer for answer in answers if answer.status_code == 200)
    assert served.json()["receipt"]["idempotency_key"] == "race-a"


def test_the_same_body_twice_at_once_is_computed_and_forwarded_once(
    slow_forwarding_ttp: TTPSetup, receiver: ServerProcess
) -> None:
    commits = _fail_next_commit(receiver)
    body = (_data("same"), "race-same")

    answers = _at_once(slow_forwarding_ttp, "race-2", [body, body])

    assert [answer.status_code for answer in answers] == [200, 200], answers[1].text
    assert answers[0].content == answers[1].content
    assert answers[0].json()["forward_attempts"] == 2
    after = int(requests.get(receiver.url + "/_stats", timeout=5).json()["commit_calls"])
    assert after - commits == 2  # the failed commit and its retry, of the first request only
