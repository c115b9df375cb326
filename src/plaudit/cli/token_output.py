"""What ``plaudit token`` prints: an explanation as a Rich table, token text made safe for a
terminal, and JSON for stdout."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from plaudit.auth.explain import Explanation, Finding

_STATUS_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red", "info": "cyan"}


def render_explanation(explanation: Explanation, console: Console) -> None:
    console.print(_summary(explanation))
    for title, part in (("Header", explanation.header), ("Payload", explanation.claims)):
        if part is not None:
            console.print(Text(title, style="bold"))
            console.print(Text(safe_text(json.dumps(part, indent=2, ensure_ascii=False))))
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("status", no_wrap=True)
    table.add_column("field", no_wrap=True)
    table.add_column("value", max_width=32, overflow="fold")
    table.add_column("explanation", ratio=1)
    section = None
    for finding in explanation.findings:
        if section is not None and finding.section != section:
            table.add_section()
        section = finding.section
        table.add_row(*_row(finding))
    console.print(table)


def _summary(explanation: Explanation) -> Text:
    if not explanation.well_formed:
        error = explanation.error or {}
        return Text(
            f"Malformed token ({error.get('error')}): {error.get('message')}", style="bold red"
        )
    header = explanation.header or {}
    line = Text("Well-formed ", style="bold green")
    line.append(f"{safe_text(str(header.get('alg')))} token")
    if explanation.profile is not None:
        line.append(f", {explanation.profile} profile")
    if explanation.user_id is not None:
        line.append(f", user {safe_text(repr(explanation.user_id))}")
    errors = len(explanation.by_status("error"))
    warnings = len(explanation.by_status("warning"))
    line.append(f"; {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    if explanation.valid is None:
        line.append(" (signature not checked: use 'plaudit token verify --key FILE')", "dim")
    return line


def _row(finding: Finding) -> tuple[Text, Text, Text, Text]:
    name = finding.field if finding.section == "token" else f"{finding.section}.{finding.field}"
    value = "" if finding.value is None else short_json(finding.value, 64)
    message = finding.message
    if finding.code:
        message += f" [{finding.code}]"
    explanation = Text(safe_text(message))
    if finding.status == "error" and finding.hint:
        explanation.append(f"\nhint: {safe_text(finding.hint)}", style="dim")
    return (
        Text(finding.status, style=_STATUS_STYLE[finding.status]),
        Text(safe_text(name)),
        Text(value),
        explanation,
    )


def safe_text(text: str) -> str:
    """Text from a token made safe for a terminal: control, bidi and lone surrogate characters
    are shown escaped, and Rich markup never applies (callers wrap the result in ``Text``)."""
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if char.isprintable() or char == "\n":
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def short_json(value: Any, limit: int) -> str:
    text = safe_text(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dump_json(value: Any) -> str:
    """JSON for stdout: UTF-8 where it can be, escaped where a token held lone surrogates."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=True)
    return text
