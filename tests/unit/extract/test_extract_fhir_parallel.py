"""Reading the FHIR input in parts, in worker processes, gives what one process gives (0317).

The one-process reader (``fhir_stream.read_input`` over ``InputResources``) is
the straightforward version. Read in parts (a worker process per further part,
columns merged with their rows offset), the same input must give the same
records, kept texts, files, logs of left-out lines and the same first error
with its file and line; a worker that fails, dies or hangs fails the extract,
and no worker process or worker folder outlives the read.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig
from aanlevering.demo import DemoOptions, DemoResult, generate_demo_data
from aanlevering.errors import ConfigError, ExtractError
from aanlevering.extract import fhir_parallel
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_parts import cut_parts, plan_parts
from aanlevering.extract.fhir_store import input_files, whole_files
from aanlevering.extract.fhir_stream import Assembler, DatasetSpec, StreamedInput, read_input
from aanlevering.extract.options import ExtractOptions
from aanlevering.periods import Period

REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")
YEAR = Period.parse("2026")
#: The loggers whose records must be the same (files and lines left out, duplicates, counts).
LOGGERS = ("aanlevering.extract.fhir_store", "aanlevering.extract.fhir")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("parallel") / "demo"
    return generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=120, seed=7))


def _both(config: RegistrationConfig) -> RegistrationConfig:
    """The registration delivering resources too, so the kept texts are compared."""
    both = replace(config.delivery, format="fhir-ndjson", fhir_content="both")
    return replace(config, delivery=both)


def _plan(catalogue: Catalogue, registration_id: str, work: Path, workers: int = 1) -> _Plan:
    options = ExtractOptions(work_dir=work, read_workers=workers, parallel_min_bytes=0)
    return _Plan.of(_both(catalogue.get(registration_id)), options)


def _specs(plan: _Plan) -> list[DatasetSpec]:
    period_dataset = plan.config.period_dataset
    return [
        plan.builders[d.name].spec(raw_text=d.name == period_dataset)
        for d in plan.config.dictionary.datasets
    ]


def _outcome(plan: _Plan, folder: Path, caplog: pytest.LogCaptureFixture) -> tuple[Any, ...]:
    """What an extract gives: its tables and kept texts, or its error; and what it logged."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        try:
            extract = plan.streamed(folder, YEAR)
        except ExtractError as error:
            return ("error", str(error), _logs(caplog))
    datasets = {
        name: (d.row_refs, d.clinical, d.identity, d.type_problems, d.source_files)
        for name, d in extract.datasets.items()
    }
    assert extract.source_resources is not None
    return ("ok", datasets, extract.source_resources.to_table(), _logs(caplog))


def _logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in LOGGERS]


def _same(one: tuple[Any, ...], parts: tuple[Any, ...]) -> None:
    assert one[0] == parts[0], (one[1] if one[0] == "error" else "", parts[1])
    if one[0] == "error":
        assert one[1:] == parts[1:]
        return
    assert one[1].keys() == parts[1].keys()
    for name, tables in one[1].items():
        for ours, theirs in zip(tables, parts[1][name], strict=True):
            if isinstance(ours, pa.Array | pa.Table):
                assert ours.equals(theirs), name
            else:
                assert ours == theirs, name
    assert one[2].equals(parts[2])
    assert one[3] == parts[3]


def _parts_logged(caplog: pytest.LogCaptureFixture) -> int:
    found = [
        r.args for r in caplog.records if r.name == "aanlevering.extract.fhir_parallel" and r.args
    ]
    return int(found[-1][0]) if found else 1  # type: ignore[index]


def _cut_at(monkeypatch: pytest.MonkeyPatch, targets: list[int]) -> None:
    """The input cut at ``targets`` (byte offsets into all its files in reading order)."""

    def planned(ndjson: list[Path], bundles: list[Path], workers: int, min_bytes: int) -> Any:
        return cut_parts(whole_files(ndjson, bundles), targets)

    monkeypatch.setattr(fhir_parallel, "plan_parts", planned)


def _workers_started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process ids of the workers started from now on."""
    started: list[int] = []
    original = fhir_parallel._Worker.__init__

    def spy(self: Any, *args: Any) -> None:
        original(self, *args)
        started.append(self.process.pid)

    monkeypatch.setattr(fhir_parallel._Worker, "__init__", spy)
    return started


# -- the demo exports ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["fhir-bulk", "fhir-bundles"])
@pytest.mark.parametrize("registration_id", REGISTRATIONS)
def test_parallel_reading_gives_the_one_process_extract_on_the_demo_exports(
    demo: DemoResult,
    catalogue: Catalogue,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    registration_id: str,
    fmt: str,
) -> None:
    """Two and three processes, parts of equal bytes (NDJSON cut inside files, Bundles whole)."""
    folder = demo.out_dir / fmt / registration_id
    one = _outcome(_plan(catalogue, registration_id, tmp_path / "one"), folder, caplog)
    assert one[0] == "ok" and one[2].num_rows > 100
    for workers in (2, 3):
        work = tmp_path / f"w{workers}"
        parts = _outcome(_plan(catalogue, registration_id, work, workers), folder, caplog)
        bundles = len(list(folder.glob("*.json")))  # never cut: at most one part each
        assert _parts_logged(caplog) == (workers if fmt == "fhir-bulk" else min(workers, bundles))
        _same(one, parts)
        assert not list(work.glob("aanlevering-fhir-part-*"))  # the workers' folders are gone


def _one_process_columns(plan: _Plan, folder: Path) -> tuple[list[Any], pa.Table]:
    streamed = read_input(folder, _specs(plan), plan.options.mrn_system, plan.read, None)
    return _columns(streamed, _specs(plan))


def _columns(streamed: StreamedInput, specs: list[DatasetSpec]) -> tuple[list[Any], pa.Table]:
    """Every dataset's StreamedRecords and the kept texts of all their records."""
    assembler = Assembler(streamed)
    found, refs = [], []
    for spec in specs:
        records = assembler.records(spec)
        found.append(
            (records.refs, records.identities, records.values, records.raw_text, records.failed)
        )
        refs.append(records.refs)
    kept = assembler.kept_table(pa.concat_arrays(refs))
    return found, kept.to_table()


def _same_columns(one: tuple[list[Any], pa.Table], parts: tuple[list[Any], pa.Table]) -> None:
    for ours, theirs in zip(one[0], parts[0], strict=True):
        assert ours[0].equals(theirs[0])
        for mine, other in zip(ours[1:], theirs[1:], strict=True):
            assert mine.keys() == other.keys()
            for name in mine:
                assert mine[name].equals(other[name]), name
    assert one[1].equals(parts[1])


@pytest.mark.parametrize("registration_id", REGISTRATIONS)
def test_random_cuts_give_the_one_process_records_and_kept_texts(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    """Cuts anywhere: inside files, at file starts, next to each other, at the very ends."""
    plan = _plan(catalogue, registration_id, None)  # type: ignore[arg-type]
    folder = demo.out_dir / "fhir-bulk" / registration_id
    one = _one_process_columns(plan, folder)
    ndjson, bundles = input_files(folder)
    segments = whole_files(ndjson, bundles)
    total = sum(path.stat().st_size for path in ndjson)
    starts = [0]
    for path in ndjson:
        starts.append(starts[-1] + path.stat().st_size)
    rng = random.Random(registration_id)
    trials = [sorted(rng.sample(range(1, total), 3)), [0, starts[2], starts[2] + 1, total - 1]]
    for targets in trials:
        parts = cut_parts(segments, targets)
        assert len(parts) >= 3
        streamed = fhir_parallel.read_parts(
            folder, parts, _specs(plan), mrn_system=plan.options.mrn_system, read=plan.read
        )
        _same_columns(one, _columns(streamed, _specs(plan)))


# -- awkward inputs --------------------------------------------------------------------------

LEFT_OUT = '{"level": "info", "message": "export started"}'


def _awkward(demo: DemoResult, target: Path) -> Path:
    """The dica-dsaa export without its manifest, with what real folders have besides.

    Patients repeated at the end (copies across parts, counted and read once),
    a ``log.ndjson`` of resources between lines that are none, a ``notes.ndjson``
    of no resources at all (left out as a file), an empty ``Empty.ndjson`` and a
    Bundle of Encounters that Procedures of the NDJSON refer to.
    """
    source = demo.out_dir / "fhir-bulk" / "dica-dsaa"
    target.mkdir(parents=True)
    for path in source.glob("*.ndjson"):
        shutil.copyfile(path, target / path.name)
    patients = (source / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    # Copies in another form (spaces, member order): the same resources, counted once.
    # Copies with other contents are an input error (decision 0802).
    copies = [dict(reversed(list(json.loads(line).items()))) for line in patients[:5]]
    with (target / "Procedure.ndjson").open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(patient) + "\n" for patient in copies)
    encounters = (target / "Encounter.ndjson").read_text(encoding="utf-8").splitlines()
    (target / "Encounter.ndjson").write_text("\n".join(encounters[10:]) + "\n", encoding="utf-8")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": json.loads(line)} for line in encounters[:10]],
    }
    (target / "zz-bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    log_lines = [LEFT_OUT, patients[7], LEFT_OUT, LEFT_OUT, patients[8], LEFT_OUT]
    (target / "log.ndjson").write_text("\n".join(log_lines) + "\n", encoding="utf-8")
    (target / "notes.ndjson").write_text(f"{LEFT_OUT}\n{LEFT_OUT}\n", encoding="utf-8")
    (target / "Empty.ndjson").write_text("", encoding="utf-8")
    return target


def _line_start(folder: Path, name: str, line: int) -> int:
    """Offset of line ``line`` (1-based) of file ``name`` in the whole input, in reading order."""
    ndjson, bundles = input_files(folder)
    offset = 0
    for path in [*ndjson, *bundles]:
        if path.name == name:
            data = path.read_bytes()
            at = 0
            for _ in range(line - 1):
                at = data.index(b"\n", at) + 1
            return offset + at
        offset += path.stat().st_size
    raise AssertionError(name)


def _cuts(folder: Path) -> list[list[int]]:
    """Cuts right before and after the left-out lines, at files and the Bundle, inside files."""
    log = [_line_start(folder, "log.ndjson", line) for line in range(1, 7)]
    notes = _line_start(folder, "notes.ndjson", 2)
    bundle = _line_start(folder, "zz-bundle.json", 1)
    observations = _line_start(folder, "Observation.ndjson", 40)
    return [
        [log[0]],  # right before a left-out line (the file's first)
        [log[1]],  # right after it
        [log[2], log[3]],  # around one of two left-out lines in a row: a part of one line
        [log[4], notes],  # a file of left-out lines only, split
        [observations, bundle],  # inside a file, and right before the Bundle
        [log[5], bundle + 5],  # inside the Bundle (the last file): moves to its end, no part
        [observations, observations + 1, log[5]],  # two cuts at one line: an empty part
    ]


def test_awkward_inputs_read_in_parts_as_in_one_process(
    demo: DemoResult,
    catalogue: Catalogue,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _awkward(demo, tmp_path / "export")
    plan = _plan(catalogue, "dica-dsaa", tmp_path / "work")
    one = _outcome(plan, folder, caplog)
    assert one[0] == "ok"
    logged = " ".join(one[3])
    assert "left out 4 line(s) of log.ndjson" in logged and "notes.ndjson" in logged
    assert any("appeared more than once" in line for line in one[3])
    for targets in _cuts(folder):
        _cut_at(monkeypatch, targets)
        _same(one, _outcome(plan, folder, caplog))
        assert _parts_logged(caplog) >= 2, targets
        monkeypatch.undo()


def _break_line(folder: Path, name: str, line: int, text: str) -> None:
    path = folder / name
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _shape_error(folder: Path, name: str, after: int) -> int:
    """A record's resource with codings of the wrong shape (a number for a list); its line.

    The first record's resource after line ``after``.
    """
    path = folder / name
    lines = path.read_text(encoding="utf-8").splitlines()
    marker = '"complicatie"' if name.startswith("Condition") else '"resourceType"'
    line = next(
        number for number, text in enumerate(lines, start=1) if number > after and marker in text
    )
    resource = json.loads(lines[line - 1])
    resource["verificationStatus"] = {"coding": 5}
    lines[line - 1] = json.dumps(resource)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return line


@pytest.mark.parametrize(
    "broken",
    [
        ("late",),  # part 2 only
        ("early", "late"),  # both parts: part 1's wins
        ("early",),  # part 1 only, while the worker reads
        ("early", "Procedure.ndjson"),  # part 1 and a later file in part 2
        ("zz-bundle.json",),  # a Bundle in part 2 that is not JSON
    ],
)
@pytest.mark.parametrize("kind", ["not JSON", "wrong shape"])
def test_the_first_error_in_input_order_wins_with_its_file_and_line(
    demo: DemoResult,
    catalogue: Catalogue,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    broken: tuple[str, ...],
    kind: str,
) -> None:
    """Errors of reading (not JSON) and of the records (a wrong shape) alike."""
    folder = _awkward(demo, tmp_path / "export")
    conditions = len((folder / "Condition.ndjson").read_bytes().splitlines())
    middle = conditions // 2 + 1  # part 2 starts at this line of Condition.ndjson
    found: list[str] = []
    for which in broken:
        name, after = {
            "early": ("Condition.ndjson", 0),
            "late": ("Condition.ndjson", middle + 1),
        }.get(which, (which, 0))
        if name.endswith(".json"):
            text = (folder / name).read_text(encoding="utf-8")
            (folder / name).write_text(text[:-20], encoding="utf-8")
            found.append(f"{name}: line 1: not valid JSON")
        elif kind == "not JSON":
            _break_line(folder, name, after + 3, '{"resourceType": "Condition", "id": ')
            found.append(f"{name}: line {after + 3}: not valid JSON")
        else:
            found.append(f"{name}:{_shape_error(folder, name, after)}: the ")
    plan = _plan(catalogue, "dica-dsaa", tmp_path / "work")
    one = _outcome(plan, folder, caplog)
    assert one[0] == "error"
    assert any(where in one[1] for where in found), (one[1], found)
    if broken[0] == "early" and (kind == "not JSON" or broken[-1] == "late"):
        assert found[0] in one[1]  # input order (shape errors: within a dataset)
    _cut_at(monkeypatch, [_line_start(folder, "Condition.ndjson", middle)])
    started = _workers_started(monkeypatch)
    _same(one, _outcome(plan, folder, caplog))
    assert len(started) == 1
    assert not any(psutil.pid_exists(pid) for pid in started)
    assert not list((tmp_path / "work").glob("aanlevering-fhir-part-*"))


# -- failing workers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal 9"),
        ("raise RuntimeError('MRN0012345 9999')", "exited with code 1 without an answer: "),
        ("import sys; sys.exit(0)", "exited with code 0 without an answer"),
    ],
)
def test_a_worker_that_dies_without_an_answer_fails_the_extract(
    demo: DemoResult,
    catalogue: Catalogue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    expected: str,
) -> None:
    started = _workers_started(monkeypatch)
    monkeypatch.setattr(fhir_parallel, "WORKER_CODE", code)
    plan = _plan(catalogue, "dica-dsaa", tmp_path / "work", workers=2)
    with pytest.raises(ExtractError, match="part 2 of 2 of the FHIR input") as failed:
        plan.streamed(demo.out_dir / "fhir-bulk" / "dica-dsaa", YEAR)
    assert expected in str(failed.value)
    if "RuntimeError" in code:  # the class name, never the message (it may quote input)
        assert ": RuntimeError (read with AANLEVERING_FHIR_READ_WORKERS=1" in str(failed.value)
        assert "MRN0012345" not in str(failed.value)
    assert len(started) == 1
    assert not any(psutil.pid_exists(pid) for pid in started)
    assert not list((tmp_path / "work").glob("aanlevering-fhir-part-*"))


def test_a_hung_worker_is_stopped_after_its_bound(
    demo: DemoResult, catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _workers_started(monkeypatch)
    monkeypatch.setattr(fhir_parallel, "WORKER_CODE", "import time; time.sleep(120)")
    monkeypatch.setattr(fhir_parallel, "_WAIT_BASE", 1.0)
    monkeypatch.setattr(fhir_parallel, "_WAIT_PER_BYTE", 0.0)
    plan = _plan(catalogue, "dica-dsaa", tmp_path / "work", workers=2)
    with pytest.raises(ExtractError, match=r"took more than 1 s in its worker process; stopped"):
        plan.streamed(demo.out_dir / "fhir-bulk" / "dica-dsaa", YEAR)
    assert len(started) == 1
    assert not any(psutil.pid_exists(pid) for pid in started)
    assert not list((tmp_path / "work").glob("aanlevering-fhir-part-*"))


def test_an_error_in_the_first_part_stops_the_workers(
    demo: DemoResult, catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first part's error is raised at once; the worker still reading is killed."""
    started = _workers_started(monkeypatch)
    monkeypatch.setattr(fhir_parallel, "WORKER_CODE", "import time; time.sleep(120)")
    folder = _awkward(demo, tmp_path / "export")
    _break_line(folder, "Condition.ndjson", 2, "{")
    plan = _plan(catalogue, "dica-dsaa", tmp_path / "work", workers=2)
    with pytest.raises(ExtractError, match=r"Condition.ndjson: line 2: not valid JSON"):
        plan.streamed(folder, YEAR)
    assert len(started) == 1 and not psutil.pid_exists(started[0])
    assert not list((tmp_path / "work").glob("aanlevering-fhir-part-*"))


# -- settings --------------------------------------------------------------------------------


def test_small_inputs_and_one_worker_stay_in_one_part(demo: DemoResult) -> None:
    ndjson, bundles = input_files(demo.out_dir / "fhir-bulk" / "dica-dsaa")
    total = sum(path.stat().st_size for path in ndjson)
    assert len(plan_parts(ndjson, bundles, 2, total + 1)) == 1
    assert len(plan_parts(ndjson, bundles, 1, 0)) == 1
    parts = plan_parts(ndjson, bundles, 2, total)
    assert len(parts) == 2 and abs(parts[0].size - parts[1].size) < 4096  # cut inside a file
    assert parts[0].segments[-1].path == parts[1].segments[0].path


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AANLEVERING_FHIR_READ_WORKERS", "3")
    monkeypatch.setenv("AANLEVERING_FHIR_PARALLEL_MIN_MIB", "0")
    options = ExtractOptions()
    assert (options.read_workers, options.parallel_min_bytes) == (3, 0)
    monkeypatch.delenv("AANLEVERING_FHIR_PARALLEL_MIN_MIB")
    assert ExtractOptions().parallel_min_bytes == 64 << 20
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("AANLEVERING_FHIR_READ_WORKERS", bad)
        with pytest.raises(ConfigError, match="AANLEVERING_FHIR_READ_WORKERS must be"):
            ExtractOptions()


SLOW_WORKER = (
    "import time\n"
    "from aanlevering.extract import fhir_parallel as f\n"
    "read = f._read_part\n"
    "f._read_part = lambda request, folder: (\n"
    "    (folder / 'reading').touch(), time.sleep(60), read(request, folder)\n"
    ")[2]\n"
    "f.worker_main()\n"
)
READER = """
import sys
from pathlib import Path
from aanlevering.extract import fhir_parallel
from aanlevering.extract.fhir_parts import plan_parts
from aanlevering.extract.fhir_store import input_files

fhir_parallel.WORKER_CODE = {worker!r}
started = fhir_parallel._Worker.__init__
def spy(self, *args):
    started(self, *args)
    print(self.process.pid, flush=True)
fhir_parallel._Worker.__init__ = spy
folder = Path({folder!r})
parts = plan_parts(*input_files(folder), 2, 0)
fhir_parallel.read_parts(
    folder, parts, [], mrn_system=None, read=None, texts_folder=Path({work!r})
)
"""


def test_a_worker_does_not_outlive_a_killed_reader(demo: DemoResult, tmp_path: Path) -> None:
    """The kernel kills the worker when the reading process dies (an OOM kill, say)."""
    folder, work = demo.out_dir / "fhir-bulk" / "ldtr", tmp_path / "work"
    code = READER.format(worker=SLOW_WORKER, folder=str(folder), work=str(work))
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as reader:
        assert reader.stdout is not None
        worker = psutil.Process(int(reader.stdout.readline()))
        for _ in range(300):  # the worker has asked to die with its parent, and reads
            if list(work.glob("aanlevering-fhir-part-*/reading")):
                break
            time.sleep(0.05)
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
        assert list(work.glob("aanlevering-fhir-part-*/reading"))
        reader.kill()
        reader.wait(timeout=30)
        worker.wait(timeout=30)  # raises TimeoutExpired when it lives on
    assert not worker.is_running()


@pytest.mark.parametrize("name", ["Procedure.ndjson", "Patient.ndjson"])
def test_a_single_ndjson_file_given_alone_is_cut_too(
    demo: DemoResult,
    catalogue: Catalogue,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """An input that is one file (no folder): the same extract, or the same error."""
    path = demo.out_dir / "fhir-bulk" / "dica-dsaa" / name
    one = _outcome(_plan(catalogue, "dica-dsaa", tmp_path / "one"), path, caplog)
    started = _workers_started(monkeypatch)
    parts = _outcome(_plan(catalogue, "dica-dsaa", tmp_path / "two", workers=2), path, caplog)
    assert len(started) == 1
    _same(one, parts)
    assert one[0] == ("ok" if name == "Patient.ndjson" else "error")  # Procedures: no patients
