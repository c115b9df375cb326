"""The guides' code blocks as a reader follows them, read from the Markdown itself.

The convention (docs/integrations/README.md, "How the guides are tested"):

- a fenced block whose preceding line says ``Save this as `NAME`:`` is written to NAME;
- every other ```` ```sh ```` block is a step the reader runs, in order, in one shell;
- a ```` ```json ```` block directly after a step (nothing but blank lines between them) is that
  step's answer.

This module only reads; ``test_guides_run.py`` runs what it finds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`]*)$")
SAVE_AS = re.compile(r"Save this as `(?P<name>[^`/]+)`")
RUN_LANGUAGES = ("sh", "bash")
#: The commands a step needs that are not everywhere: it runs only where they exist.
RUNTIMES = {
    "node": re.compile(r"(?<![\w./-])(node|npm)\s"),
    "ruby": re.compile(r"(?<![\w./-])ruby\s"),
}
#: Steps that serve until stopped; the test starts the server the same way instead.
SERVES_FOREVER = ("make run",)
MARKER = "@@plaudit-guide-step {}@@"


@dataclass
class Step:
    kind: str  # "save" or "run"
    text: str
    line: int  # where the block starts in the Markdown, for messages
    name: str = ""  # the file a "save" step writes
    answer: Any = None  # the JSON the guide shows as this step's answer, if any
    runtimes: tuple[str, ...] = ()

    @property
    def serves_forever(self) -> bool:
        commands = [
            line.split("#", 1)[0].strip()
            for line in self.text.splitlines()
            if line.split("#", 1)[0].strip()
        ]
        return self.kind == "run" and len(commands) == 1 and commands[0] in SERVES_FOREVER


@dataclass
class Guide:
    path: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def runs(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "run"]


def read_guide(path: Path, *, section: str | None = None) -> Guide:
    """The steps of ``path`` (only those under the heading ``section``, when given)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    guide = Guide(path)
    in_section = section is None
    last_text = ""  # the last non-blank line outside a block
    after_step = False  # nothing but blank lines since the last step
    index = 0
    while index < len(lines):
        line = lines[index]
        if section is not None and line.startswith("#") and not line.startswith("#" * 3):
            in_section = line.lstrip("#").strip() == section
        opened = FENCE.match(line)
        if opened is None:
            if line.strip():
                last_text = line.strip()
                after_step = False
            index += 1
            continue
        indent = len(opened["indent"])
        language = opened["info"].strip().split(" ")[0]
        start = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith("```"):
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        index += 1  # the closing fence
        text = "\n".join(body) + "\n"
        if not in_section:
            continue
        saved = SAVE_AS.search(last_text)
        if saved is not None:
            guide.steps.append(Step("save", text, start, name=saved["name"]))
        elif language in RUN_LANGUAGES:
            needs = tuple(name for name, pattern in RUNTIMES.items() if pattern.search(text))
            guide.steps.append(Step("run", text, start, runtimes=needs))
            after_step = True
            last_text = ""
            continue
        elif language == "json" and after_step:
            guide.steps[-1].answer = json.loads(text)
        after_step = False
        last_text = ""
    return guide


def script(steps: list[Step]) -> str:
    """One shell script: saves as quoted here-documents, steps verbatim, each after a marker
    on stdout and stderr so that its output and its failure can be told apart."""
    parts: list[str] = []
    for number, step in enumerate(steps):
        if step.kind == "save":
            end = "PLAUDIT_GUIDE_EOF"
            assert end not in step.text
            parts.append(f"cat > '{step.name}' <<'{end}'\n{step.text}{end}\n")
        else:
            marker = MARKER.format(number)
            parts.append(f"printf '\\n%s\\n' '{marker}'; printf '%s\\n' '{marker}' >&2\n")
            parts.append(step.text)
    return "".join(parts)


def outputs(stdout: str, steps: list[Step]) -> dict[int, str]:
    """Each run step's own output, by its index in ``steps``."""
    found: dict[int, str] = {}
    pieces = re.split(r"\n@@plaudit-guide-step (\d+)@@\n", stdout)
    for number, text in zip(pieces[1::2], pieces[2::2], strict=True):
        found[int(number)] = text
    return found


def failed_step(stderr: str) -> int | None:
    markers = re.findall(r"@@plaudit-guide-step (\d+)@@", stderr)
    return int(markers[-1]) if markers else None


def json_values(text: str) -> list[Any]:
    """Every JSON object or array printed in ``text`` (curl -s prints answers back to back)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index = 0
    while index < len(text):
        if text[index] in "{[":
            try:
                value, end = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                index += 1
                continue
            values.append(value)
            index = end
        else:
            index += 1
    return values


#: Values a guide can only show as an example: generated ids, secrets, keys and times.
GENERATED = re.compile(r"^(sec|evt|pk|prod|adm)_\w+$|^\d{4}-\d\d-\d\dT|…")
EXAMPLE_ONLY = {"value", "api_key", "created_at", "first_seen_at", "last_seen_at", "expires_at"}
#: A refusal's wording is docs/errors.md's and tests/test_error_codes.py's to hold; a guide
#: shows it as an example, and the code is what must match.
EXAMPLE_ONLY |= {"message", "hint"}


def differences(shown: Any, got: Any, where: str = "") -> list[str]:
    """How the answer a step printed differs from the one its guide shows: the same fields,
    the same values except where the guide can only show an example (then: null stays null)."""
    if isinstance(shown, dict):
        if not isinstance(got, dict):
            return [f"{where or 'the answer'}: shown an object, got {got!r}"]
        found = []
        if set(shown) != set(got):
            found.append(
                f"{where or 'the answer'}: fields {sorted(shown)} shown, {sorted(got)} got"
            )
        for key in set(shown) & set(got):
            here = f"{where}.{key}" if where else key
            if key in EXAMPLE_ONLY:
                if (shown[key] is None) != (got[key] is None):
                    found.append(f"{here}: shown {shown[key]!r}, got {got[key]!r}")
            else:
                found += differences(shown[key], got[key], here)
        return found
    if isinstance(shown, list):
        if not isinstance(got, list) or len(shown) != len(got):
            return [f"{where}: shown {shown!r}, got {got!r}"]
        return [
            d
            for i, (s, g) in enumerate(zip(shown, got, strict=True))
            for d in differences(s, g, f"{where}[{i}]")
        ]
    if isinstance(shown, str) and GENERATED.search(shown):
        return [] if isinstance(got, str) else [f"{where}: shown {shown!r}, got {got!r}"]
    return [] if shown == got else [f"{where}: shown {shown!r}, got {got!r}"]
