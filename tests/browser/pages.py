"""Host pages for the browser suite: a strict-CSP page on another origin that embeds widget.js."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from playwright.sync_api import Page

from .conftest import NONCE, HostServer, Plaudit, Web

PLAUDIT_STUB = "window.plaudit = window.plaudit || function () { (plaudit.q = plaudit.q || []).push(arguments) };"
GR_STUB = "window.gr = window.gr || function () { (gr.q = gr.q || []).push(arguments) };"

# The host page's own CSS is hostile on purpose: none of it may reach into the widget.
HOSTILE_CSS = """
button { background: rgb(0, 255, 0) !important; font-size: 40px !important; }
input, h2 { display: none !important; }
div { padding: 50px !important; }
"""

EN_EXPIRED = "Your session has expired. Please reload the page and try again."
EN_AUTH = "We couldn't confirm your account. Please sign in again."
FOCUS = """() => {
  const host = document.querySelector("plaudit-modal");
  const inner = host && host.shadowRoot.activeElement;
  if (document.activeElement !== host || !inner) return null;
  return inner.closest("[role=dialog]") ? inner.getAttribute("data-plaudit") : "outside-dialog";
}"""


def csp(plaudit_url: str) -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{NONCE}' {plaudit_url}; "
        f"style-src 'nonce-{NONCE}'; connect-src {plaudit_url}; img-src data:; "
        "base-uri 'none'; form-action 'none'; require-trusted-types-for 'script'"
    )


def host_page(
    plaudit_url: str, *, setup: str = "", body: str = "", css: str = "", stub: str = PLAUDIT_STUB
) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Acme Notes</title>
<style nonce="{NONCE}">{HOSTILE_CSS}{css}</style>
<script nonce="{NONCE}">
{stub}
window.seen = [];
document.addEventListener("click", (event) => {{
  if (event.target.id === "opener") (window.plaudit || window.gr)("showReferralWidget");
  if (event.target.id === "rewards") (window.plaudit || window.gr)("showLoyaltyWidget");
}});
{setup}
</script>
<script async src="{plaudit_url}/widget.js"></script>
</head><body><h1>Acme Notes</h1><button id="opener" type="button">Invite friends</button>
<button id="rewards" type="button">Rewards</button>
{body}</body></html>"""


def serve(host: HostServer, plaudit: Plaudit, **page: Any) -> str:
    return host.add(host_page(plaudit.url, **page), csp=csp(plaudit.url))


def new_user() -> str:
    return "u-" + secrets.token_hex(5)


def js(value: Any) -> str:
    return json.dumps(value)


def part(web: Web, key: str, host: str = "plaudit-modal") -> Any:
    return web.page.locator(f'{host} [data-plaudit="{key}"]')


def until(page: Page, expression: str, *, timeout: float = 5.0) -> None:
    """Wait until the JavaScript ``expression`` is true in ``page``, polled from here.

    Not ``page.wait_for_function``: on a page whose CSP refuses 'unsafe-eval' (the widget's
    host pages and the console, on purpose), Playwright's in-page polling evaluates the
    predicate as a string and is refused whenever the first check is not already true
    (microsoft/playwright#7395). ``page.evaluate`` runs it through the DevTools protocol, which
    the page's CSP does not govern."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {expression}")
        page.wait_for_timeout(50)
