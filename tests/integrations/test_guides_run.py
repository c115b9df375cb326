"""Every guide runs exactly as written: each shell step of docs/integrations/*.md and of the
README's quick start, read from the Markdown at test time, runs in order in one `bash -e`, in a
fresh folder per guide, against a real `plaudit demo` (what `make run` serves).

What the test may change, and nothing else (docs/integrations/README.md says the same): the
host (``http://127.0.0.1:8000`` becomes the served address) and the secrets the guides read from
the environment (``PLAUDIT_ADMIN_TOKEN``, ``EXISTING_SECRET``, ``SQUATCH_SECRET``); the shell has
the server's ``PLAUDIT_DATA_DIR``, as a terminal on the server has, for the ``plaudit`` commands.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REQUIRED, missing_backend
from tests.support.runtimes import why_missing

from .guide_blocks import (
    Guide,
    differences,
    failed_step,
    json_values,
    outputs,
    read_guide,
    script,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs" / "integrations").glob("*.md"))
QUICK_START = ROOT / "README.md"
DEFAULT_HOST = "http://127.0.0.1:8000"
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow]


@dataclass
class Served:
    base: str
    folder: Path  # where it was started, as `make run` is: ./data is its store
    admin_token: str
    npm_cache: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reader_environment() -> dict[str, str]:
    # A reader's shell knows nothing of this suite's PLAUDIT_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`make run` without its install step: `plaudit demo` in a fresh folder, on a free port."""
    if why := why_missing("shell"):
        missing_backend("shell", why)
    folder = tmp_path_factory.mktemp("quick-start")
    port = _free_port()
    log = (folder.parent / "plaudit-demo.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  # our own console script
        [str(BIN / "plaudit"), "demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=_reader_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"plaudit demo exited with {process.returncode}"
            assert time.monotonic() < deadline, "plaudit demo did not answer within 60 s"
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield Served(
            base=base,
            folder=folder,
            admin_token=(folder / "data" / "admin.token").read_text().strip(),
            npm_cache=tmp_path_factory.mktemp("npm-cache"),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def follow(guide: Guide, folder: Path, served: Served) -> None:
    """Run the guide's steps in ``folder``; check each printed answer; skip loudly (or, in
    CI, fail) for the steps whose language this machine lacks, once the others have passed."""
    lacking = {name: why for name in ("node", "ruby") if (why := why_missing(name))}
    steps = [
        step
        for step in guide.steps
        if not step.serves_forever and not set(step.runtimes) & set(lacking)
    ]
    assert any(step.kind == "run" for step in steps), f"{guide.path.name} has no shell step"
    env = {
        **_reader_environment(),
        "PLAUDIT_ADMIN_TOKEN": served.admin_token,
        "PLAUDIT_DATA_DIR": str(served.folder / "data"),
        "EXISTING_SECRET": secrets.token_urlsafe(64),
        "SQUATCH_SECRET": "TEST_" + secrets.token_urlsafe(32),
        # npm: one download cache per run, and no audit, funding or update chatter.
        "npm_config_cache": str(served.npm_cache),
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }
    shell = folder.parent / f"{folder.name}.sh"
    shell.write_text(script(steps).replace(DEFAULT_HOST, served.base))
    result = subprocess.run(  # noqa: S603
        ["bash", "-e", "-o", "pipefail", str(shell)],  # noqa: S607
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if result.returncode != 0:
        number = failed_step(result.stderr)
        where = f"the step at line {steps[number].line}" if number is not None else "a step"
        pytest.fail(
            f"{guide.path.name}: {where} failed (exit {result.returncode}).\n"
            f"--- stdout (end)\n{result.stdout[-3000:]}\n--- stderr (end)\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    printed = outputs(result.stdout, steps)
    problems: list[str] = []
    for number, step in enumerate(steps):
        if step.kind != "run":
            continue
        answers = json_values(printed.get(number, ""))
        where = f"{guide.path.name}, the step at line {step.line}"
        shown_error = isinstance(step.answer, dict) and "error" in step.answer
        for answer in answers:
            if isinstance(answer, dict) and "error" in answer and not shown_error:
                problems.append(f"{where} was refused: {answer}")
        if step.answer is not None:
            if not answers:
                problems.append(f"{where} printed no JSON; the guide shows {step.answer}")
            else:
                problems += [f"{where}: {d}" for d in differences(step.answer, answers[-1])]
    assert not problems, "\n".join(problems)
    left_out = {
        name: lines
        for name in lacking
        if (lines := [s.line for s in guide.steps if name in s.runtimes])
    }
    why = "; ".join(
        f"{lacking[name]} ({guide.path.name}: the {name} steps at lines {lines} did not run)"
        for name, lines in left_out.items()
    )
    for name in sorted(left_out, key=lambda n: n not in REQUIRED):  # a required one fails
        missing_backend(name, why)


@pytest.mark.parametrize("path", GUIDES, ids=[p.stem for p in GUIDES])
def test_the_integration_guide_runs_as_written(
    path: Path, served: Served, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The guide's shell steps all succeed in a fresh folder, and each answer it shows is what
    Plaudit answers (the same fields, and the same values wherever they are not examples)."""
    follow(read_guide(path), tmp_path_factory.mktemp(path.stem), served)


def test_the_readme_quick_start_runs_as_written(served: Served) -> None:
    """The quick start's steps, in the folder where `make run` serves (the fixture started
    `plaudit demo` there, as `make run` does after installing), verify the demo's token."""
    guide = read_guide(QUICK_START, section="Quick start")
    assert any(step.serves_forever for step in guide.steps), "the quick start starts no server"
    follow(guide, served.folder, served)


# --- what the convention promises, checked without running anything -----------------------

WRITES = re.compile(r"(?:\btee|-out|(?<![&>\d])>)\s+([\w.-]+)")
PRODUCT_IDS = re.compile(r'/v1/products \\\n.*?"id": "([\w-]+)"', re.S)


def test_no_two_guides_create_the_same_product_or_write_the_same_file() -> None:
    """A reader may follow every guide against one Plaudit in one folder: no guide creates a
    product another creates, nor writes a file another writes (npm's own files aside)."""
    owners: dict[str, str] = {}
    clashes: list[str] = []
    for path in GUIDES:
        names: set[str] = set()
        for step in read_guide(path).steps:
            if step.kind == "save":
                names.add(f"file {step.name}")
            else:
                names |= {f"file {n}" for n in WRITES.findall(step.text)}
                names |= {f"product {p}" for p in PRODUCT_IDS.findall(step.text)}
        for name in names - {"file /dev/null"}:
            if name in owners:
                clashes.append(f"{name}: {owners[name]} and {path.name}")
            owners[name] = path.name
    assert not clashes, clashes
    assert any(n.startswith("product ") for n in owners), "no product creation was recognised"


def test_a_save_line_names_the_file_and_a_json_block_is_the_answer(tmp_path: Path) -> None:
    """The convention as a reader sees it: "Save this as `x`:" before a block writes x; sh
    blocks run; a json block directly after one is its answer; other blocks are not run."""
    (tmp_path / "g.md").write_text(
        "Save this as `sign.py`:\n\n```python\nprint('t')\n```\n\n"
        "Run it:\n\n```sh\nTOKEN=$(python3 sign.py)\n```\n\n"
        '```json\n{"ok": true}\n```\n\n```\n$ not run\n```\n\n```sh\nnode sign.js\n```\n\n'
        'An example:\n\n```json\n{"error": "x"}\n```\n'
    )
    steps = read_guide(tmp_path / "g.md").steps
    assert [(s.kind, s.name) for s in steps] == [("save", "sign.py"), ("run", ""), ("run", "")]
    assert steps[1].answer == {"ok": True}
    assert steps[2].answer is None
    assert steps[2].runtimes == ("node",)
