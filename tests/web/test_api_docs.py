"""GET /docs: Swagger UI from Plaudit's own files, pinned by digest, under a CSP that lets no
other origin's script run; no page loads anything from a CDN."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from fastapi.testclient import TestClient

#: The vendored files' digests, as src/plaudit/web/swagger_ui/README.md records them.
PINNED = {
    "swagger-ui-bundle.js": "b164c5a22535e40dae08c00271674a67e437ec195098c55fcedf8ffac7ac3c88",
    "swagger-ui.css": "7eb9f5a125e4bc9b3f0b71869b66d1a3d7c501f972f53d44ef91c2ae6c5bda5e",
}


def test_the_vendored_swagger_ui_is_the_pinned_release_with_its_licence() -> None:
    folder = resources.files("plaudit.web").joinpath("swagger_ui")
    for name, digest in PINNED.items():
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in folder.joinpath("LICENSE").read_text()
    assert "`swagger-ui-dist` **5.36.0**" in folder.joinpath("README.md").read_text()


def test_docs_loads_every_file_from_this_origin_with_its_digest(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert "<script>" not in page.text  # no inline script: the policy forbids them
    references = re.findall(r'(?:src|href)="([^"]+)"(?: integrity="([^"]+)")?', page.text)
    loaded = [(url, sri) for url, sri in references if not url.startswith("data:")]
    assert len(loaded) == 3
    for url, integrity in loaded:
        assert url.startswith("/docs/assets/"), url
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["x-content-type-options"] == "nosniff"
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url
        etag = served.headers["etag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_swagger_ui_is_told_not_to_send_the_document_to_its_validator(client: TestClient) -> None:
    start = client.get("/docs/assets/docs.js").text
    assert 'url: "/openapi.json"' in start
    assert "validatorUrl: null" in start


def test_redoc_and_unknown_files_are_not_found(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    missing = client.get("/docs/assets/../../settings.py")
    assert missing.status_code == 404
    unknown = client.get("/docs/assets/index.html")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
