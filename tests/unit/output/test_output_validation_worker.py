"""The sampled R4B validation in a second process gives inline validation's verdict (decision 0307).

Pinned against the straightforward way, :func:`validate_resource` on the
writing thread: the same first error (message and resource) for random mixes
of valid and invalid resources, none when all are valid; an invalid resource
stops an NDJSON delivery with nothing written, and it wins over a later error
as it did inline; a child that stops is an error, never a pass.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.fhir.validate import SamplePolicy, validate_resource
from aanlevering.fhir.validation_worker import BackgroundValidator, InlineValidator, serve
from aanlevering.output import fhir_stream, ndjson
from aanlevering.output.content import DeliveryInput
from aanlevering.output.ndjson import write_ndjson


def _valid(rng: random.Random, number: int) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {
            "resourceType": "Patient",
            "id": f"p{number}",
            "gender": rng.choice(["male", "female", "other", "unknown"]),
            "birthDate": f"{rng.randint(1900, 2020)}",
            "identifier": [{"system": "https://example.org/ë", "value": f"v-{number}\u00e9"}],
        }
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"q{number}",
        "status": "completed",
        "item": [{"linkId": "a", "answer": [{"valueInteger": rng.randint(-5, 5)}]}],
    }


def _invalid(rng: random.Random, number: int) -> dict[str, Any]:
    broken = _valid(rng, number)
    if broken["resourceType"] == "Patient":
        broken[rng.choice(["birthDate", "gender"])] = rng.choice(["14-03-1950", "x", ""])
    else:
        broken["status"] = rng.choice(["done", "", "COMPLETED"])
    return broken


def _texts(seed: int, count: int, invalid: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    bad = set(rng.sample(range(count), invalid))
    return [
        (
            json.dumps(
                (_invalid if n in bad else _valid)(rng, n),
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            f"resource #{n + 1} \u00e9",
        )
        for n in range(count)
    ]


def _inline_first_error(texts: list[tuple[str, str]]) -> str | None:
    for text, where in texts:
        try:
            validate_resource(text, where)
        except OutputError as error:
            return str(error)
    return None


@pytest.mark.parametrize(("seed", "invalid"), [(1, 0), (2, 1), (3, 3), (4, 7)])
def test_the_process_reports_the_first_error_inline_validation_raises(
    seed: int, invalid: int
) -> None:
    texts = _texts(seed, 150, invalid)
    expected = _inline_first_error(texts)
    assert (expected is None) == (invalid == 0)
    with BackgroundValidator() as validator:
        for text, where in texts:
            validator.check(text, where)
        failure = validator.first_failure()
        assert (str(failure) if failure is not None else None) == expected
        if expected is None:
            validator.finish()
        else:
            with pytest.raises(OutputError) as raised:
                validator.finish()
            assert str(raised.value) == expected


def test_the_loop_of_the_child_over_bytes(tmp_path: Path) -> None:
    """``serve`` (what the child runs) answers with the first failure only, nothing if valid."""
    import io
    import struct

    texts = _texts(5, 40, 4)
    expected = _inline_first_error(texts)
    source = io.BytesIO(
        b"".join(
            struct.pack(">II", len(w.encode()), len(t.encode())) + w.encode() + t.encode()
            for t, w in texts
        )
    )
    answer = io.BytesIO()
    serve(source, answer)
    assert answer.getvalue().decode() == expected
    answer = io.BytesIO()
    serve(io.BytesIO(b"".join(b"")), answer)
    assert answer.getvalue() == b""


def test_a_child_that_stops_is_an_error_not_a_pass() -> None:
    with BackgroundValidator([sys.executable, "-c", "import sys; sys.exit(5)"]) as validator:
        for text, where in _texts(6, 50, 0):
            validator.check(text, where)
        assert validator.first_failure() is None
        with pytest.raises(OutputError, match="exit code 5: the sampled resources were not"):
            validator.finish()


def test_no_child_process_validates_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundValidator(["/nonexistent/python-for-this-test"]) as validator:
        validator.check(*_texts(7, 1, 0)[0])
        text, where = _texts(8, 1, 1)[0]
        with pytest.raises(OutputError, match="invalid FHIR R4B"):
            validator.check(text, where)
    assert InlineValidator().first_failure() is None


def _corrupt_patient(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """Patient ``number`` (1-based, in delivered order) gets an element R4B refuses."""
    original = PatientBuilder.text
    made = [0]

    def corrupted(self: PatientBuilder, *args: Any, **kwargs: Any) -> str:
        text = original(self, *args, **kwargs)
        made[0] += 1
        if made[0] == number:
            text = text.replace(
                '"resourceType":"Patient",', '"resourceType":"Patient","active":"x",'
            )
        return text

    monkeypatch.setattr(PatientBuilder, "text", corrupted)


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test deliveries are small: validate them in the second process all the same."""
    monkeypatch.setattr(ndjson, "BACKGROUND_VALIDATION_ROWS", 0)


def test_an_invalid_resource_stops_the_delivery_with_nothing_written(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    monkeypatch: pytest.MonkeyPatch,
    background: None,
) -> None:
    content = delivery("ldtr")
    _corrupt_patient(monkeypatch, 2)
    with pytest.raises(OutputError) as raised:
        write_ndjson(tmp_path / "out", content, SamplePolicy(head=3, every=1000))
    assert str(raised.value).startswith("Patient #2: invalid FHIR R4B Patient: active")
    assert not any((tmp_path / "out").iterdir())


def test_an_invalid_resource_wins_over_a_later_error_as_inline(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    monkeypatch: pytest.MonkeyPatch,
    background: None,
) -> None:
    """Inline validation stopped at the invalid Patient before the records were built."""
    content = delivery("ldtr")

    def failing_records(*args: Any, **kwargs: Any) -> Any:
        raise OutputError("a later error")
        yield  # a generator, as record_batches

    monkeypatch.setattr(fhir_stream.FhirStream, "record_batches", failing_records)
    policy = SamplePolicy(head=3, every=1000)
    with pytest.raises(OutputError, match=r"^a later error$"):
        write_ndjson(tmp_path / "valid", content, policy)
    _corrupt_patient(monkeypatch, 1)
    with pytest.raises(OutputError, match=r"^Patient #1: invalid FHIR R4B Patient"):
        write_ndjson(tmp_path / "out", content, policy)
    assert not any((tmp_path / "out").iterdir())


def test_large_deliveries_validate_in_the_second_process_small_ones_inline(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aanlevering.fhir import validation_worker

    started: list[bool] = []
    original = validation_worker.BackgroundValidator.__init__

    def counted(self: BackgroundValidator, *args: Any, **kwargs: Any) -> None:
        started.append(True)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ndjson.BackgroundValidator, "__init__", counted)
    content = delivery("ldtr")
    rows = sum(d.num_rows for d in content.datasets.values())
    monkeypatch.setattr(ndjson, "BACKGROUND_VALIDATION_ROWS", rows + 1)
    write_ndjson(tmp_path / "small", content)
    assert started == []
    monkeypatch.setattr(ndjson, "BACKGROUND_VALIDATION_ROWS", rows)
    write_ndjson(tmp_path / "large", content)
    assert started == [True]
    for name in ("Patient.ndjson", "QuestionnaireResponse.ndjson"):
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "large" / name).read_bytes()
