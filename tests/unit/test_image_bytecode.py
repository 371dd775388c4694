"""The image holds the project's bytecode: an Airflow task does not compile its modules (0742).

Why: the image sets ``PYTHONDONTWRITEBYTECODE=1`` and installs the project
editable from ``src/`` (owned by root; tasks run as ``aanlevering``), so no
``.pyc`` of the project was ever written, and every task process compiled
each aanlevering module it imported from source: 0.2-0.4 s of CPU per task,
eight tasks a run. The dependencies are compiled by pip at install time.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"

COUNT_COMPILES = r"""
import importlib.machinery, json, sys
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counting
import aanlevering.runs.steps, aanlevering.pipeline.operations
own = [p for p in compiled if "/aanlevering/" in p]
imported = sum(m.startswith("aanlevering") for m in sys.modules)
print(json.dumps({"compiled": len(own), "imported": imported}))
"""


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    return lines


def _compile_step() -> str:
    """The Dockerfile's compileall command; it must come after ``COPY src`` and before USER."""
    lines = _logical_lines(DOCKERFILE.read_text(encoding="utf-8"))
    copy_src = next(i for i, line in enumerate(lines) if line.startswith("COPY src "))
    user = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    runs = [
        (i, line.split(None, 1)[1])
        for i, line in enumerate(lines)
        if line.startswith("RUN ") and "compileall" in line
    ]
    assert len(runs) == 1, runs
    at, command = runs[0]
    assert copy_src < at < user, "compile after the sources are in, as root"
    assert "src" in shlex.split(command)
    return command


def _imports_in(root: Path) -> dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", COUNT_COMPILES],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_after_the_images_compile_step_a_task_compiles_no_module(tmp_path: Path) -> None:
    command = _compile_step()
    bare = tmp_path / "bare"
    shutil.copytree(REPO / "src", bare / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dags", "plugins"):
        shutil.copytree(REPO / name, bare / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", bare / "pyproject.toml")
    shutil.copytree(REPO / "schemas", bare / "schemas")
    image = tmp_path / "image"
    shutil.copytree(bare, image)

    # The straightforward image: every module of the task compiled from source.
    before = _imports_in(bare)
    assert before["compiled"] >= before["imported"] > 50

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        ["sh", "-c", command.replace("python ", f"{sys.executable} ", 1)],
        cwd=image,
        env=env,
        check=True,
    )
    after = _imports_in(image)
    assert after == {"compiled": 0, "imported": before["imported"]}
