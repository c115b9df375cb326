"""The programs the guides' shell steps call, found on PATH: backends of their own.

``shell`` (bash, curl, jq, openssl) runs any guide; ``node`` (node and npm) and ``ruby`` (ruby
with the jwt gem, Debian's ruby-jwt) run the steps written in those languages. Each skips
loudly where it is missing and fails where PLAUDIT_REQUIRE_BACKENDS names it (.ci/run does).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

NEEDS = {
    "shell": ("bash", "curl", "jq", "openssl"),
    "node": ("node", "npm"),
    "ruby": ("ruby",),
}


@cache
def why_missing(backend: str) -> str | None:
    """None when ``backend`` can run here; else what is missing."""
    absent = [program for program in NEEDS[backend] if shutil.which(program) is None]
    if absent:
        return f"{', '.join(absent)} not on PATH"
    if backend == "ruby":
        loaded = subprocess.run(
            ["ruby", "-e", 'require "jwt"'],  # noqa: S607  # the PATH's ruby, as a reader's
            capture_output=True,
            timeout=60,
            check=False,
        )
        if loaded.returncode != 0:
            return "ruby has no jwt gem (Debian: apt-get install ruby-jwt)"
    return None
