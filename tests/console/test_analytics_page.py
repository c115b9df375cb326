"""The console's Analytics page: the dashboard's figures as charts with a table each, a period
form that names a bad day, CSV downloads, and Chart.js served from the package. Both stores."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.activity import known_history

from .conftest import ConsoleClient, text_of

PAGE = "/console/products/acme/analytics"
PERIOD = {"from": "2026-03-01", "to": "2026-03-03"}
VENDOR = Path(__file__).resolve().parents[2] / "src/plaudit/console/static/vendor/chartjs"


def _acme(db: Database, settings: Settings) -> None:
    factories.product(db, settings, id="acme")
    with db.session() as session:
        known_history(session, "acme")


def test_the_page_shows_totals_charts_and_a_table_for_each_chart(
    console: ConsoleClient, db: Database, settings: Settings
) -> None:
    """Totals of the period, three charts each followed by a table of its figures, the top
    rewards and rules, the data for the charts, and the scripts from the package."""
    _acme(db, settings)
    page = console.get(PAGE, params=PERIOD)
    assert page.status_code == 200, page.text
    text = " ".join(text_of(page).split())
    for fact in ("Link clicks 3", "Signups 2", "Points earned 80", "Points redeemed 40"):
        assert fact in text
    assert "Active users 3" in text
    assert len(re.findall(r'<canvas data-chart="\w+" role="img" aria-label=', page.text)) == 3
    assert page.text.count("as a table</summary>") == 3
    assert '<tr><th scope="row">2026-03-01</th><td>2</td><td>1</td><td>0</td><td>0</td></tr>' in (
        page.text
    )
    assert "Mug" in text
    assert "deleted rule rul_gone" in text
    assert 'id="analytics-data"' in page.text
    assert 'src="/console/static/vendor/chartjs/chart.umd.min.js"' in page.text
    assert 'aria-current="page">Analytics</a>' in page.text


def test_a_bad_day_is_shown_on_the_form_with_its_label(
    console: ConsoleClient, db: Database, settings: Settings
) -> None:
    """'from' after 'to' answers 422 with the period form, its field marked and named."""
    _acme(db, settings)
    page = console.get(PAGE, params={"from": "2026-03-05", "to": "2026-03-01"})
    assert page.status_code == 422
    assert 'href="#period-from">From: 2026-03-05 is after to (2026-03-01).</a>' in page.text
    assert 'aria-invalid="true"' in page.text
    assert console.get(PAGE, params={"to": "soon"}).status_code == 422


def test_the_download_links_stream_the_csv_exports(
    console: ConsoleClient, db: Database, settings: Settings
) -> None:
    """Each export link on the page downloads that CSV for the signed-in principal."""
    _acme(db, settings)
    page = console.get(PAGE, params=PERIOD)
    links = re.findall(r'href="(/console/products/acme/exports/[^"]+)" download', page.text)
    assert "/console/products/acme/exports/users.csv" in links
    ledger = console.get("/console/products/acme/exports/ledger.csv", params=PERIOD)
    assert ledger.status_code == 200
    assert ledger.headers["content-type"] == "text/csv; charset=utf-8"
    assert len(list(csv.DictReader(io.StringIO(ledger.text)))) == 8
    assert console.get("/console/products/acme/exports/secrets.csv").status_code == 404


def test_an_api_key_session_sees_only_its_own_products_analytics(
    client: object, db: Database, settings: Settings
) -> None:
    """Signed in with beta's API key, acme's analytics and exports are not found."""
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    _acme(db, settings)
    beta = factories.product(db, settings, id="beta")
    browser = ConsoleClient(client)
    assert browser.sign_in(beta["api_key"]).status_code == 303
    assert browser.get(PAGE).status_code == 404
    assert browser.get("/console/products/acme/exports/users.csv").status_code == 404
    assert browser.get("/console/products/beta/analytics").status_code == 200


def test_chart_js_is_served_from_the_package_with_its_licence(console: ConsoleClient) -> None:
    """The vendored Chart.js and its MIT licence come from Plaudit itself, revalidated by
    ETag; other paths under the folder are not found."""
    script = console.get("/console/static/vendor/chartjs/chart.umd.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.content == (VENDOR / "chart.umd.min.js").read_bytes()
    assert b"Chart.js v4.6.2" in script.content[:200]
    again = console.get(
        "/console/static/vendor/chartjs/chart.umd.min.js",
        headers={"If-None-Match": script.headers["etag"]},
    )
    assert again.status_code == 304
    licence = console.get("/console/static/vendor/chartjs/LICENSE.md")
    assert "MIT" in licence.text
    assert console.get("/console/static/analytics/analytics.js").status_code == 200
    assert console.get("/console/static/vendor/chartjs/chart.js").status_code == 404
    assert console.get("/console/static/vendor/chartjs/README.md").status_code == 404
